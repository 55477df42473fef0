"""Thompson sampling for Bernoulli bandits.

Each arm's success probability has a Beta(1 + successes, 1 + failures) posterior; the
solver draws one sample per arm and pulls the largest, so it explores exactly as much as it
is still unsure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.bandit import BanditSolver


@dataclass
class ThompsonSamplingConfig:
    n_timesteps: int = 5000  # pulls in a training run
    prior_successes: float = 1.0  # Beta prior alpha; (1, 1) is uniform
    prior_failures: float = 1.0  # Beta prior beta

    def __post_init__(self):
        if self.prior_successes <= 0 or self.prior_failures <= 0:
            raise ValueError("prior_successes and prior_failures must be > 0")
        if self.n_timesteps < 1:
            raise ValueError(f"n_timesteps must be at least 1, got {self.n_timesteps}")


class ThompsonSamplingAgent(BanditSolver):
    algo = "thompson_sampling"

    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        alpha = self.config.prior_successes + self.reward_sums
        beta = self.config.prior_failures + self.counts - self.reward_sums
        return alpha, beta

    def estimates(self) -> np.ndarray:
        """Posterior means."""
        alpha, beta = self._posterior()
        return alpha / (alpha + beta)

    def select_arm(self) -> int:
        return self.argmax(self.np_random.beta(*self._posterior()))
