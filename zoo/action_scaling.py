"""Box actions for policies that work in [-1, 1] (DDPG, SAC): rescaling both ways, and
uniformly random actions drawn in bulk (Box.sample costs ~30 us each)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from zoo.errors import ZooError


class BoxActions:
    def __init__(self, space: gym.Space, algo: str, device: torch.device | None = None):
        if not isinstance(space, gym.spaces.Box) or not np.all(np.isfinite(space.low) & np.isfinite(space.high)):
            # Gymnasium's ClipAction advertises (-inf, inf) for the bounded space it clips to
            hint = (f" If env_wrappers has clip_action, drop it: that wrapper makes the bounds look infinite, and "
                    f"{algo} keeps its actions within them itself." if isinstance(space, gym.spaces.Box) else "")
            raise ZooError(f"{algo} rescales actions to the env's bounds: it needs a bounded Box action space, "
                           f"got {space}.{hint}")
        self.space = space
        self.shape: tuple[int, ...] = tuple(space.shape)  # of one env action
        self.dim = int(np.prod(space.shape))
        self.scale = ((space.high - space.low) / 2.0).astype(np.float32).reshape(-1)
        self.bias = ((space.high + space.low) / 2.0).astype(np.float32).reshape(-1)
        # for replayed batches, on the agent's device
        self._scale_tensor = torch.from_numpy(self.scale).to(device)
        self._bias_tensor = torch.from_numpy(self.bias).to(device)

    def to_env(self, squashed: np.ndarray) -> np.ndarray:
        """[-1, 1] -> the env's [low, high]."""
        return (squashed * self.scale + self.bias).reshape(self.space.shape)

    def batch_to_env(self, squashed: np.ndarray) -> np.ndarray:
        """A batch of [-1, 1] actions, one row each -> the env's [low, high]."""
        return (squashed * self.scale + self.bias).reshape(len(squashed), *self.shape)

    def to_policy(self, env_actions: torch.Tensor) -> torch.Tensor:
        """A replayed batch of env actions -> [-1, 1]."""
        return (env_actions.reshape(len(env_actions), -1) - self._bias_tensor) / self._scale_tensor

    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.space.low, self.space.high, size=(n, *self.space.shape)).astype(np.float32)
