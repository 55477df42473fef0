"""Observation normalisation: running mean and variance of what the env shows, for off-policy
agents (`normalize_observations: true`), in the manner of SB3's VecNormalize; and for the
on-policy agents, observations and rewards (`RolloutNormalization`).

The statistics grow with every observation the training loop sees (reset and step); the
replay buffer keeps raw observations and each batch is normalised with the statistics of the
moment, as SB3 does, so old transitions are never frozen under outdated statistics.
Normalised values are clipped to +-clip. Evaluation and enjoy use the statistics as saved.
"""

from __future__ import annotations

import numpy as np
import torch


class ObservationNormalizer:
    def __init__(self, shape: tuple[int, ...], clip: float = 10.0, epsilon: float = 1e-8):
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 1e-4  # SB3's RunningMeanStd starts here: no division by zero, barely a prior
        self.clip, self.epsilon = float(clip), float(epsilon)
        self._refresh()

    def update(self, observations: np.ndarray) -> None:
        """Merge a batch [N, *shape] (or one observation) into the running moments (Chan et al.)."""
        batch = np.asarray(observations, dtype=np.float64).reshape(-1, *self.mean.shape)
        batch_mean, batch_var, n = batch.mean(0), batch.var(0), batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.count = total
        self._refresh()

    def _refresh(self) -> None:
        # float32 copies for the hot paths: acting (numpy) and learning (torch)
        self.mean32 = self.mean.astype(np.float32)
        self.inv_std32 = (1.0 / np.sqrt(self.var + self.epsilon)).astype(np.float32)
        self._torch_statistics: tuple[torch.Tensor, torch.Tensor] | None = None  # made when a batch needs them

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        return np.clip((observation - self.mean32) * self.inv_std32, -self.clip, self.clip)

    def torch(self, observations: torch.Tensor) -> torch.Tensor:
        # The statistics change every env step but batches come every train_freq steps: copy
        # them to the batch's device (a GPU's, maybe) only when one asks.
        if self._torch_statistics is None or self._torch_statistics[0].device != observations.device:
            self._torch_statistics = (torch.from_numpy(self.mean32).to(observations.device),
                                      torch.from_numpy(self.inv_std32).to(observations.device))
        mean, inv_std = self._torch_statistics
        return ((observations - mean) * inv_std).clamp_(-self.clip, self.clip)

    def state_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.mean": self.mean.copy(), f"{prefix}.var": self.var.copy(),
                f"{prefix}.count": np.array(self.count)}

    def load_state_arrays(self, prefix: str, arrays: dict[str, np.ndarray]) -> None:
        if f"{prefix}.mean" in arrays:
            self.mean = np.asarray(arrays[f"{prefix}.mean"], dtype=np.float64).reshape(self.mean.shape)
            self.var = np.asarray(arrays[f"{prefix}.var"], dtype=np.float64).reshape(self.var.shape)
            self.count = float(arrays[f"{prefix}.count"])
            self._refresh()


class ReturnNormalizer:
    """Rewards divided by the running std of each env's discounted return (VecNormalize's
    norm_reward), clipped to +-10."""

    def __init__(self, gamma: float, clip: float = 10.0, epsilon: float = 1e-8):
        self.statistics = ObservationNormalizer((), clip=clip, epsilon=epsilon)
        self.gamma = gamma
        self.returns: np.ndarray | None = None  # the running discounted return of each env

    def scale(self, rewards: np.ndarray, episode_ends: np.ndarray) -> np.ndarray:
        """[T, N] rewards scaled by the statistics before this rollout (then updated with it)."""
        scaled = np.clip(rewards * float(self.statistics.inv_std32), -self.statistics.clip, self.statistics.clip)
        if self.returns is None or self.returns.shape != rewards.shape[1:]:
            self.returns = np.zeros(rewards.shape[1:])
        discounted = np.empty_like(rewards, dtype=np.float64)
        for t in range(len(rewards)):
            self.returns = self.returns * self.gamma + rewards[t]
            discounted[t] = self.returns
            self.returns = self.returns * (1.0 - episode_ends[t])
        self.statistics.update(discounted.reshape(-1))
        return scaled


class RolloutNormalization:
    """An on-policy agent's VecNormalize (PPO's and A2C's `normalize_observations`,
    `normalize_rewards`): observations by their running mean and std, rewards by the running std
    of each env's discounted return. The statistics hold still while a rollout is collected and
    learned from, and take it in after (the agent calls `take_in`); checkpoints keep them."""

    def __init__(self, observation_shape: tuple[int, ...], gamma: float, *, observations: bool, rewards: bool):
        self.observation_shape = observation_shape
        self.observations = ObservationNormalizer(observation_shape) if observations else None
        self.rewards = ReturnNormalizer(gamma) if rewards else None

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float32)
        return observations if self.observations is None else self.observations(observations)

    def scaled_rewards(self, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> np.ndarray:
        """A rollout's [T, N] rewards as the agent learns from them."""
        return rewards if self.rewards is None else self.rewards.scale(rewards, np.maximum(terminated, truncated))

    def take_in(self, observations: np.ndarray) -> None:
        """After learning from a rollout: its observations join the statistics."""
        if self.observations is not None:
            self.observations.update(observations.reshape(-1, *self.observation_shape))

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {**(self.observations.state_arrays("observation_statistics") if self.observations else {}),
                **(self.rewards.statistics.state_arrays("return_statistics") if self.rewards else {})}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        if self.observations is not None:
            self.observations.load_state_arrays("observation_statistics", arrays)
        if self.rewards is not None:
            self.rewards.statistics.load_state_arrays("return_statistics", arrays)
