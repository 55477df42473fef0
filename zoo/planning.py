"""Dynamic programming on an explicit model `P[s][a] = [(prob, next_state, reward, terminated)]`.

The model is turned once into dense arrays so that a Bellman backup over every state and
action is one matrix product:  Q = R + gamma * T @ V,  where T holds only the transitions
that continue (a terminated transition contributes its reward and nothing after it).
The solvers themselves are pure functions in zoo/agents/{policy,value}_iteration.py;
`PlanningAgent` is the thin agent around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from zoo.agent import BaseAgent
from zoo.errors import ZooError

# Two values closer than this are a tie: the greedy policy then keeps the lowest action
# (or, in policy iteration, the current one), so float noise never flips a policy.
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TabularModel:
    transition: np.ndarray  # [S, A, S]: probability of moving to s' and going on
    reward: np.ndarray  # [S, A]: expected immediate reward

    @classmethod
    def from_table(cls, table: dict, n_states: int, n_actions: int) -> "TabularModel":
        transition = np.zeros((n_states, n_actions, n_states))
        reward = np.zeros((n_states, n_actions))
        for state in range(n_states):
            for action in range(n_actions):
                for prob, next_state, r, terminated in table[state][action]:
                    reward[state, action] += prob * r
                    if not terminated:
                        transition[state, action, int(next_state)] += prob
        return cls(transition, reward)

    @property
    def n_states(self) -> int:
        return self.reward.shape[0]

    def q_values(self, values: np.ndarray, gamma: float) -> np.ndarray:
        return self.reward + gamma * (self.transition @ values)


def greedy_policy(q_values: np.ndarray, current: np.ndarray | None = None) -> np.ndarray:
    """argmax_a Q(s, a); among near-ties keep `current` when given, else the lowest action."""
    best = q_values.max(axis=1, keepdims=True)
    is_best = q_values >= best - TIE_TOLERANCE * np.maximum(1.0, np.abs(best))
    policy = np.argmax(is_best, axis=1)
    if current is not None:
        keep = is_best[np.arange(len(current)), current]
        policy = np.where(keep, current, policy)
    return policy.astype(np.int64)


def model_of(env: gym.Env) -> dict:
    """The unwrapped env's transition table, or a ZooError saying what planners need."""
    table = getattr(env.unwrapped, "P", None)
    discrete = isinstance(env.observation_space, gym.spaces.Discrete) and isinstance(
        env.action_space, gym.spaces.Discrete
    )
    if table is None or not discrete:
        name = env.spec.id if env.spec else type(env.unwrapped).__name__
        raise ZooError(
            f"Dynamic programming needs a known model: '{name}' must have Discrete observation and "
            "action spaces and a transition table P[s][a] on its unwrapped env "
            "(e.g. CliffWalking4x12-v0, FrozenLake-v1, CliffWalking-v1)."
        )
    return table


class PlanningAgent(BaseAgent):
    """Acts greedily on values computed from the model; `update(P)` (re)plans."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: Any, **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        if not (isinstance(observation_space, gym.spaces.Discrete) and isinstance(action_space, gym.spaces.Discrete)):
            raise ZooError(
                f"{self.algo} plans over finite MDPs: it needs Discrete observation and action spaces, "
                f"got {observation_space} and {action_space}."
            )
        self.n_states = int(observation_space.n)
        self.n_actions = int(action_space.n)
        self.values = np.zeros(self.n_states)
        self.policy = np.zeros(self.n_states, dtype=np.int64)
        self.history: list[dict[str, float]] = []  # per-iteration metrics of the last solve

    def solve(self, model: TabularModel) -> tuple[np.ndarray, np.ndarray, list[dict[str, float]]]:
        """(values, policy, per-iteration metrics) of the model; each algorithm defines it."""
        raise NotImplementedError

    def update(self, table: dict) -> dict[str, float]:
        model = TabularModel.from_table(table, self.n_states, self.n_actions)
        self.values, self.policy, self.history = self.solve(model)
        return {"iterations": len(self.history), **self.history[-1]}

    def take_action(self, observation: Any, deterministic: bool = False) -> int:
        # The optimal policy of a finite MDP is deterministic, so both modes act alike.
        if not self.observation_space.contains(observation):
            raise ZooError(f"{self.algo}: observation {observation!r} is not a state of {self.observation_space}.")
        return int(self.policy[int(observation) - self.observation_space.start]) + int(self.action_space.start)

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {"values": self.values, "policy": self.policy}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        arrays = self._take_arrays(arrays, self.state_arrays())
        if np.any((arrays["policy"] < 0) | (arrays["policy"] >= self.n_actions)):
            raise ZooError(f"The checkpoint's policy has actions outside [0, {self.n_actions}); it is corrupt.")
        self.values, self.policy = arrays["values"], arrays["policy"]


ARROWS = ("↑", "→", "↓", "←")  # CliffWalking's action order: UP, RIGHT, DOWN, LEFT
# FrozenLake numbers its actions LEFT, DOWN, RIGHT, UP; other grids follow CliffWalking.
ARROWS_BY_ENV_CLASS = {"FrozenLakeEnv": ("←", "↓", "→", "↑")}


def policy_grid(env: gym.Env, policy: np.ndarray) -> str | None:
    """The policy as arrows on the env's grid, or None for an env that is not a 4-action grid.

    Cells the map marks (cliff C, hole H, goal G/T) show their letter instead of an arrow.
    """
    unwrapped = env.unwrapped
    shape = getattr(unwrapped, "shape", None) or (getattr(unwrapped, "nrow", None), getattr(unwrapped, "ncol", None))
    if None in shape or int(np.prod(shape)) != len(policy) or env.action_space.n != 4:
        return None
    arrows = ARROWS_BY_ENV_CLASS.get(type(unwrapped).__name__, ARROWS)
    desc = getattr(unwrapped, "desc", None)
    cliff = getattr(unwrapped, "_cliff", None)
    rows = []
    for row in range(shape[0]):
        cells = []
        for col in range(shape[1]):
            mark = desc[row][col].decode() if desc is not None else "."
            if cliff is not None and cliff[row, col]:
                mark = "C"
            if desc is None and row == shape[0] - 1 and col == shape[1] - 1:
                mark = "G"  # Gymnasium's CliffWalking has no map: its goal is the corner
            cells.append(mark if mark in "CHGT" else arrows[policy[row * shape[1] + col]])
        rows.append(" ".join(cells))
    return "\n".join(rows)
