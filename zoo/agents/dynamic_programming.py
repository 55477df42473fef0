"""Dynamic programming on the env's explicit model P: value iteration, or policy iteration
with `method: policy_iteration` (the registry's `policy_iteration` alias sets it).

The solvers are pure functions of the model (zoo/planning.py); this agent holds their result
and acts greedily on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from zoo.agent import BaseAgent
from zoo.contracts import Metrics, TransitionTable
from zoo.errors import ZooError
from zoo.planning import TabularModel, policy_iteration, value_iteration


@dataclass
class DynamicProgrammingConfig:
    method: Literal["value_iteration", "policy_iteration"] = "value_iteration"
    gamma: float = 0.9  # discount factor
    theta: float = 1e-6  # a sweep (or a policy evaluation) stops once no state changes by more
    # Sweeps of value iteration, improvement steps of policy iteration: a safety net for
    # gamma = 1 on a model that never settles.
    max_iterations: int = 100_000
    max_evaluation_sweeps: int = 100_000  # policy iteration: sweeps of one policy evaluation at most

    def __post_init__(self) -> None:
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.theta <= 0:
            raise ValueError(f"theta must be > 0, got {self.theta}")
        for name in ("max_iterations", "max_evaluation_sweeps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


class DynamicProgrammingAgent(BaseAgent):
    """Acts greedily on values computed from the model; `update(P)` (re)plans."""

    algo = "value_iteration"
    config: DynamicProgrammingConfig

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: DynamicProgrammingConfig,
                 **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        if not (isinstance(observation_space, gym.spaces.Discrete) and isinstance(action_space, gym.spaces.Discrete)):
            raise ZooError(
                f"{self.algo} plans over finite MDPs: it needs Discrete observation and action spaces, "
                f"got {observation_space} and {action_space}."
            )
        self.states = observation_space
        self.n_states = int(observation_space.n)
        self.n_actions = int(action_space.n)
        self.action_start = int(action_space.start)
        self.values = np.zeros(self.n_states)
        self.policy = np.zeros(self.n_states, dtype=np.int64)
        self.history: list[Metrics] = []  # per-iteration metrics of the last solve

    def update(self, table: TransitionTable) -> Metrics:
        model = TabularModel.from_table(table, self.n_states, self.n_actions)
        config = self.config
        if config.method == "policy_iteration":
            self.values, self.policy, self.history = policy_iteration(
                model, config.gamma, config.theta, config.max_iterations, config.max_evaluation_sweeps)
        else:
            self.values, self.policy, self.history = value_iteration(model, config.gamma, config.theta,
                                                                     config.max_iterations)
        return {"iterations": len(self.history), **self.history[-1]}

    def take_action(self, observation: Any, deterministic: bool = False) -> int:
        # The optimal policy of a finite MDP is deterministic, so both modes act alike.
        if not self.states.contains(observation):
            raise ZooError(f"{self.algo}: observation {observation!r} is not a state of {self.states}.")
        return int(self.policy[int(observation) - self.states.start]) + self.action_start

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {"values": self.values, "policy": self.policy}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        arrays = self._take_arrays(arrays, self.state_arrays())
        if np.any((arrays["policy"] < 0) | (arrays["policy"] >= self.n_actions)):
            raise ZooError(f"The checkpoint's policy has actions outside [0, {self.n_actions}); it is corrupt.")
        self.values, self.policy = arrays["values"], arrays["policy"]
