"""Policy iteration (Sutton & Barto, section 4.3).

Alternate policy evaluation (sweep V(s) <- R(s,pi(s)) + gamma * sum_s' T V(s') until the
largest change is below theta) and greedy improvement, until the policy stops changing.
Improvement keeps the current action among near-ties, so the loop cannot cycle between
equally good policies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.planning import PlanningAgent, TabularModel, greedy_policy


@dataclass
class PolicyIterationConfig:
    gamma: float = 0.9  # discount factor
    theta: float = 1e-6  # policy evaluation stops once a sweep changes no state by more
    max_iterations: int = 1_000  # improvement steps at most
    max_evaluation_sweeps: int = 100_000  # safety net: an improper policy with gamma = 1 never settles

    def __post_init__(self):
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.theta <= 0:
            raise ValueError(f"theta must be > 0, got {self.theta}")


def evaluate_policy(model: TabularModel, policy: np.ndarray, gamma: float, theta: float,
                    values: np.ndarray, max_sweeps: int) -> tuple[np.ndarray, int]:
    states = np.arange(model.n_states)
    reward = model.reward[states, policy]
    transition = model.transition[states, policy]  # [S, S] under the policy
    for sweep in range(1, max_sweeps + 1):
        new_values = reward + gamma * (transition @ values)
        delta = np.max(np.abs(new_values - values))
        values = new_values
        if delta < theta:
            break
    return values, sweep


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


class PolicyIterationAgent(PlanningAgent):
    algo = "policy_iteration"

    def solve(self, model: TabularModel):
        return policy_iteration(model, self.config.gamma, self.config.theta,
                                self.config.max_iterations, self.config.max_evaluation_sweeps)
