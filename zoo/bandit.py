"""What every bandit solver shares: pull counts, reward sums, and sample-average estimates.

A solver decides only which arm to pull (`select_arm`); learning is the same count-and-average
for all of them. Bandits have no state, so the observation is ignored.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from zoo.agent import BaseAgent
from zoo.errors import ZooError


class BanditSolver(BaseAgent):
    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: Any, **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ZooError(f"{self.algo} solves bandits: it needs a Discrete action space (arms), got {action_space}.")
        self.n_arms = int(action_space.n)
        self.arm_offset = int(action_space.start)
        self.counts = np.zeros(self.n_arms, dtype=np.int64)
        self.reward_sums = np.zeros(self.n_arms, dtype=np.float64)

    @property
    def total_pulls(self) -> int:
        return int(self.counts.sum())

    def estimates(self) -> np.ndarray:
        """Sample means; an arm never pulled is worth `initial_estimate` (optimism)."""
        means = np.full(self.n_arms, float(self.config.initial_estimate))
        pulled = self.counts > 0
        means[pulled] = self.reward_sums[pulled] / self.counts[pulled]
        return means

    def select_arm(self) -> int:
        raise NotImplementedError

    def take_action(self, observation: Any = None, deterministic: bool = False) -> int:
        arm = self.argmax(self.estimates()) if deterministic else self.select_arm()
        return arm + self.arm_offset

    def update(self, action: int, reward: float) -> dict[str, float]:
        arm = int(action) - self.arm_offset
        if not 0 <= arm < self.n_arms:
            raise ZooError(f"{self.algo}: action {action} is not an arm of {self.action_space}.")
        self.counts[arm] += 1
        self.reward_sums[arm] += float(reward)
        return {"estimate": float(self.reward_sums[arm] / self.counts[arm])}

    def argmax(self, values: np.ndarray) -> int:
        """Argmax with ties broken at random, so no arm is favoured by its index."""
        best = int(np.argmax(values))
        tied = np.flatnonzero(values == values[best])
        return best if tied.size == 1 else int(self.np_random.choice(tied))

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts, "reward_sums": self.reward_sums}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        arrays = self._take_arrays(arrays, self.state_arrays())
        self.counts, self.reward_sums = arrays["counts"], arrays["reward_sums"]
