"""Replay buffer: a preallocated numpy ring, sampled with one vectorised gather.

`terminated` and `truncated` are stored apart: a transition cut by a time limit still
bootstraps from its next state (the episode did not really end), a terminal one does not.
The next observation is the real one returned by `step` (not the reset one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Batch:
    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor  # [B]
    next_observations: torch.Tensor
    terminated: torch.Tensor  # [B] float: 1 where the episode truly ended

    def to(self, device: torch.device) -> "Batch":
        """The batch on the agent's device (buffers gather on the CPU; frames travel as uint8)."""
        if device.type == "cpu":
            return self
        return Batch(*(tensor.to(device, non_blocking=True) for tensor in (
            self.observations, self.actions, self.rewards, self.next_observations, self.terminated)))


class ReplayBuffer:
    def __init__(self, capacity: int, observation_shape: tuple[int, ...], action_shape: tuple[int, ...],
                 observation_dtype=np.float32, action_dtype=np.int64, seed: int | None = None):
        self.capacity = int(capacity)
        self.observations = np.zeros((self.capacity, *observation_shape), dtype=observation_dtype)
        self.next_observations = np.zeros((self.capacity, *observation_shape), dtype=observation_dtype)
        self.actions = np.zeros((self.capacity, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.truncated = np.zeros(self.capacity, dtype=np.float32)
        self.position = 0  # where the next transition goes
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, observation, action, reward: float, next_observation, terminated: bool, truncated: bool) -> None:
        i = self.position
        self.observations[i] = observation
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.terminated[i] = terminated
        self.truncated[i] = truncated
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        indices = self.rng.integers(0, self.size, size=batch_size)
        # from_numpy shares the gathered arrays' memory: no second copy.
        return Batch(
            observations=torch.from_numpy(self.observations[indices]),
            actions=torch.from_numpy(self.actions[indices]),
            rewards=torch.from_numpy(self.rewards[indices]),
            next_observations=torch.from_numpy(self.next_observations[indices]),
            terminated=torch.from_numpy(self.terminated[indices]),
        )

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The filled part, oldest first, for saving with a checkpoint (resume)."""
        order = np.arange(self.size) if self.size < self.capacity else np.roll(np.arange(self.capacity), -self.position)
        return {
            "observations": self.observations[order], "actions": self.actions[order],
            "rewards": self.rewards[order], "next_observations": self.next_observations[order],
            "terminated": self.terminated[order], "truncated": self.truncated[order],
        }

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Refill from `state_arrays` of a buffer of the same shapes; the newest `capacity` are kept."""
        from zoo.errors import ZooError

        names = ("observations", "actions", "rewards", "next_observations", "terminated", "truncated")
        if set(arrays) != set(names):
            raise ZooError("The saved replay buffer does not hold this buffer's arrays.")
        n = len(arrays["rewards"])
        keep = slice(max(0, n - self.capacity), n)
        for name in names:
            target = getattr(self, name)
            if arrays[name].shape[1:] != target.shape[1:]:
                raise ZooError(f"The saved replay buffer's {name} have shape {arrays[name].shape[1:]}, "
                               f"this agent's {target.shape[1:]}.")
            kept = arrays[name][keep]
            target[: len(kept)] = kept
        self.size = min(n, self.capacity)
        self.position = self.size % self.capacity
