"""Epsilon-greedy bandit solver (Sutton & Barto, section 2.2-2.3).

With probability epsilon pull a uniformly random arm, otherwise the arm with the highest
estimated value. A constant epsilon never stops exploring, so its regret grows linearly;
`decaying: true` (the `decaying_epsilon_greedy` alias) uses epsilon = 1/t, which explores
less and less, and its regret flattens out.
"""

from __future__ import annotations

from dataclasses import dataclass

from zoo.bandit import BanditSolver


@dataclass
class EpsilonGreedyConfig:
    n_timesteps: int = 5000  # pulls in a training run
    epsilon: float = 0.01  # probability of pulling a uniformly random arm (unless decaying)
    decaying: bool = False  # epsilon = 1/t, t counting the pull being chosen (so it starts at 1)
    initial_estimate: float = 1.0  # optimistic value of an arm never pulled: each gets tried once

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        if self.n_timesteps < 1:
            raise ValueError(f"n_timesteps must be at least 1, got {self.n_timesteps}")


class EpsilonGreedyAgent(BanditSolver):
    algo = "epsilon_greedy"
    config: EpsilonGreedyConfig

    def epsilon(self) -> float:
        return 1.0 / (self.total_pulls + 1) if self.config.decaying else self.config.epsilon

    def select_arm(self) -> int:
        if self.np_random.random() < self.epsilon():
            return int(self.np_random.integers(self.n_arms))
        return self.argmax(self.estimates())
