"""Upper confidence bound bandit solver.

Hoeffding's inequality bounds the chance that an arm's true value exceeds its estimate by
more than U: P(Q > Q_hat + U) <= exp(-2 N U^2). Setting that chance to p = 1/t gives
U = sqrt(log(t) / (2 N)), and the solver pulls argmax(Q_hat + c * U). (N + 1 in the
denominator keeps an unpulled arm's bound finite.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.bandit import BanditSolver


@dataclass
class UCBConfig:
    n_timesteps: int = 5000  # pulls in a training run
    coefficient: float = 1.0  # c: weight of the uncertainty bonus
    initial_estimate: float = 1.0  # value of an arm never pulled

    def __post_init__(self):
        if self.coefficient < 0:
            raise ValueError(f"coefficient must be >= 0, got {self.coefficient}")
        if self.n_timesteps < 1:
            raise ValueError(f"n_timesteps must be at least 1, got {self.n_timesteps}")


class UCBAgent(BanditSolver):
    algo = "ucb"

    def select_arm(self) -> int:
        t = self.total_pulls + 1
        bonus = np.sqrt(np.log(t) / (2 * (self.counts + 1)))
        return self.argmax(self.estimates() + self.config.coefficient * bonus)
