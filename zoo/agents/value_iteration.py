"""Value iteration (Sutton & Barto, section 4.4).

Sweep the Bellman optimality backup  V(s) <- max_a [R(s,a) + gamma * sum_s' T(s,a,s') V(s')]
until no state changes by more than theta; the greedy policy of the result is optimal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.planning import PlanningAgent, TabularModel, greedy_policy


@dataclass
class ValueIterationConfig:
    gamma: float = 0.9  # discount factor
    theta: float = 1e-6  # stop once the largest change of a sweep is below this
    max_iterations: int = 100_000  # safety net for gamma = 1 on a model that never settles

    def __post_init__(self):
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.theta <= 0:
            raise ValueError(f"theta must be > 0, got {self.theta}")


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


class ValueIterationAgent(PlanningAgent):
    algo = "value_iteration"

    def solve(self, model: TabularModel):
        return value_iteration(model, self.config.gamma, self.config.theta, self.config.max_iterations)
