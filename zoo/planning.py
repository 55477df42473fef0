"""Dynamic programming on an explicit model `P[s][a] = [(prob, next_state, reward, terminated)]`.

The model is turned once into dense arrays so that a Bellman backup over every state and
action is one matrix product:  Q = R + gamma * T @ V,  where T holds only the transitions
that continue (a terminated transition contributes its reward and nothing after it).
The solvers are pure functions of the model:

  value_iteration (Sutton & Barto 4.4): sweep the Bellman optimality backup
      V(s) <- max_a [R(s,a) + gamma * sum_s' T(s,a,s') V(s')]
  until no state changes by more than theta; the greedy policy of the result is optimal.

  policy_iteration (Sutton & Barto 4.3): alternate policy evaluation (sweep
      V(s) <- R(s,pi(s)) + gamma * sum_s' T V(s') until the largest change is below theta)
  and greedy improvement, until the policy stops changing. Improvement keeps the current
  action among near-ties, so the loop cannot cycle between equally good policies.

zoo/agents/dynamic_programming.py is the thin agent around them.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from zoo.contracts import TransitionTable
from zoo.errors import ZooError

# Two values closer than this are a tie: the greedy policy then keeps the lowest action
# (or, in policy iteration, the current one), so float noise never flips a policy.
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TabularModel:
    transition: np.ndarray  # [S, A, S]: probability of moving to s' and going on
    reward: np.ndarray  # [S, A]: expected immediate reward

    @classmethod
    def from_table(cls, table: TransitionTable, n_states: int, n_actions: int) -> TabularModel:
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


def model_of(env: gym.Env) -> TransitionTable:
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


def value_iteration(model: TabularModel, gamma: float, theta: float, max_iterations: int = 100_000):
    """Return (V, greedy policy, [{'delta': ...} per sweep])."""
    values = np.zeros(model.n_states)
    history = []
    for _ in range(max_iterations):
        new_values = model.q_values(values, gamma).max(axis=1)
        delta = float(np.max(np.abs(new_values - values)))
        values = new_values
        history.append({"delta": delta})
        if delta < theta:
            break
    return values, greedy_policy(model.q_values(values, gamma)), history


def evaluate_policy(model: TabularModel, policy: np.ndarray, gamma: float, theta: float,
                    values: np.ndarray, max_sweeps: int) -> tuple[np.ndarray, int]:
    states = np.arange(model.n_states)
    reward = model.reward[states, policy]
    transition = model.transition[states, policy]  # [S, S] under the policy
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        new_values = reward + gamma * (transition @ values)
        delta = np.max(np.abs(new_values - values))
        values = new_values
        if delta < theta:
            break
    return values, sweeps


def policy_iteration(model: TabularModel, gamma: float, theta: float,
                     max_iterations: int = 1_000, max_evaluation_sweeps: int = 100_000):
    """Return (V, policy, [{'evaluation_sweeps': ..., 'policy_changes': ...} per iteration])."""
    policy = np.zeros(model.n_states, dtype=np.int64)
    values = np.zeros(model.n_states)
    history = []
    for _ in range(max_iterations):
        # Warm-start each evaluation from the previous values: far fewer sweeps.
        values, sweeps = evaluate_policy(model, policy, gamma, theta, values, max_evaluation_sweeps)
        new_policy = greedy_policy(model.q_values(values, gamma), current=policy)
        changes = int(np.sum(new_policy != policy))
        history.append({"evaluation_sweeps": float(sweeps), "policy_changes": float(changes)})
        policy = new_policy
        if changes == 0:
            break
    return values, policy, history
