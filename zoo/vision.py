"""Images for agents: the preprocessing wrappers and a replay buffer that stores each frame once.

Preprocessing (`ImagePipeline.wrap`), in this order, on any env that observes images or
renders `rgb_array`:
  pixels      observe env.render() instead of the env's own observation
  grayscale   RGB -> one luminance channel
  resize      area-average (or nearest, when enlarging) to [height, width]
  frame_stack the last k frames, the first frame repeated at a reset
and always channel-first uint8 [k * C, H, W], the layout CNNs take.

FrameReplayBuffer: stacked observations overlap (k - 1 of the k frames of s' are in s), so
it keeps one frame per env step and rebuilds stacks when sampling. 100k transitions of
4x84x84 take 0.7 GB instead of the 5.6 GB of storing s and s' whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from zoo.errors import ZooError
from zoo.replay_buffer import Batch


class ChannelFirstFrames(gym.ObservationWrapper):
    """Images [H, W], [H, W, C] or stacked [k, H, W(, C)] -> channel-first uint8 [k * C, H, W]."""

    def __init__(self, env: gym.Env, stacked: bool):
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) - stacked not in (2, 3):
            raise ZooError(f"Expected image observations ([H, W] or [H, W, C]), got {space}.")
        self.stacked = stacked
        shape = self._layout(np.zeros(space.shape, np.uint8)).shape
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)

    def _layout(self, image: np.ndarray) -> np.ndarray:
        frames = image if self.stacked else image[None]
        if frames.ndim == 4:  # [k, H, W, C] -> [k, C, H, W]
            frames = frames.transpose(0, 3, 1, 2)
            frames = frames.reshape(-1, *frames.shape[2:])
        return frames

    def observation(self, observation: np.ndarray) -> np.ndarray:
        frames = self._layout(np.asarray(observation))
        if frames.dtype != np.uint8:
            frames = np.clip(frames, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(frames)


class ResizeFrames(gym.ObservationWrapper):
    """[H, W] or [H, W, C] images to [height, width]: area-averaged when shrinking (no aliasing
    of thin lines), nearest when enlarging. Torch does it, so no OpenCV is needed."""

    def __init__(self, env: gym.Env, size: tuple[int, int]):
        super().__init__(env)
        self.size = (int(size[0]), int(size[1]))
        space = env.observation_space
        shape = (*self.size, *space.shape[2:])
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        image = torch.from_numpy(np.ascontiguousarray(observation)).float()
        chw = image[None, None] if image.dim() == 2 else image.permute(2, 0, 1)[None]
        shrinking = chw.shape[2] >= self.size[0] and chw.shape[3] >= self.size[1]
        out = F.interpolate(chw, size=self.size, mode="area" if shrinking else "nearest")[0]
        out = out[0] if image.dim() == 2 else out.permute(1, 2, 0)
        return out.round().clamp(0, 255).to(torch.uint8).numpy()


@dataclass
class ImagePipeline:
    pixels: bool = False
    grayscale: bool = False
    resize: tuple[int, int] | None = None
    frame_stack: int = 1

    def wrap(self, env: gym.Env) -> gym.Env:
        if self.pixels:
            if env.render_mode != "rgb_array":
                raise ZooError(f"Pixel observations need the env made with render_mode='rgb_array', "
                               f"got {env.render_mode!r}.")
            env = gym.wrappers.AddRenderObservation(env, render_only=True)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) not in (2, 3):
            raise ZooError(f"vision agents need image observations ([H, W] or [H, W, C]); this env observes "
                           f"{space}. Set `pixels: true` to learn from its rgb_array render instead.")
        if self.grayscale and len(space.shape) == 3:
            if space.shape[2] != 3:
                raise ZooError(f"grayscale needs RGB images, got {space.shape[2]} channels.")
            env = gym.wrappers.GrayscaleObservation(env, keep_dim=False)
        if self.resize is not None:
            env = ResizeFrames(env, self.resize)
        if self.frame_stack > 1:
            env = gym.wrappers.FrameStackObservation(env, self.frame_stack, padding_type="reset")
        return ChannelFirstFrames(env, stacked=self.frame_stack > 1)


class FrameReplayBuffer:
    """Replay for stacked uint8 frames that stores each env frame once.

    Slot i holds one frame (the newest channels of an observation) and, when the env stepped
    from it, that step's action, reward and `terminated`. A transition is slot i -> slot i + 1;
    its stacks are rebuilt from the `stack` slots ending there, with frames from before the
    episode's first slot replaced by that first frame (as FrameStackObservation pads at reset).
    The last frame of each episode takes a slot of its own, so `capacity` counts frames.
    """

    def __init__(self, capacity: int, observation_shape: tuple[int, ...], frame_channels: int,
                 seed: int | None = None):
        channels, height, width = observation_shape
        if channels % frame_channels:
            raise ValueError(f"{channels} channels are not a stack of {frame_channels}-channel frames")
        self.capacity = int(capacity)
        self.stack = channels // frame_channels
        self.frame_channels = frame_channels
        self.frames = np.zeros((self.capacity, frame_channels, height, width), dtype=np.uint8)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.has_next = np.zeros(self.capacity, dtype=bool)  # slot i + 1 is the step's next frame
        self.episode_start = np.zeros(self.capacity, dtype=np.int64)  # absolute index of the episode's first slot
        self.total = 0  # slots ever written; slot of absolute index j is j % capacity
        self.episode_open = False
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return int(self.has_next[: min(self.total, self.capacity)].sum())

    def _write(self, frame: np.ndarray, start: int) -> int:
        index = self.total
        slot = index % self.capacity
        self.frames[slot] = frame
        self.has_next[slot] = False
        self.episode_start[slot] = start
        self.total += 1
        return index

    def add(self, observation, action, reward, next_observation, terminated, truncated) -> None:
        newest = -self.frame_channels
        if not self.episode_open:
            self.current = self._write(np.asarray(observation)[newest:], start=self.total)
            self.start = self.current
            self.episode_open = True
        slot = self.current % self.capacity
        self.actions[slot], self.rewards[slot], self.terminated[slot] = action, reward, float(terminated)
        self.current = self._write(np.asarray(next_observation)[newest:], start=self.start)
        self.has_next[slot] = True
        if terminated or truncated:
            self.episode_open = False

    def _stacks(self, last: np.ndarray) -> np.ndarray:
        """[B, stack * C, H, W] ending at absolute indices `last`, padded with the episode's first frame."""
        starts = self.episode_start[last % self.capacity]
        offsets = np.arange(-(self.stack - 1), 1)
        indices = np.maximum(last[:, None] + offsets, starts[:, None]) % self.capacity
        frames = self.frames[indices]  # [B, stack, C, H, W]
        return frames.reshape(len(last), -1, *frames.shape[3:])

    def sample(self, batch_size: int) -> Batch:
        oldest = max(0, self.total - self.capacity)
        if self.total - oldest < 2 or not self.has_next.any():
            raise ValueError("the buffer holds no transition yet")
        chosen = np.empty(0, dtype=np.int64)
        for _ in range(1000):  # rejection: a few percent of slots are episode ends
            if len(chosen) >= batch_size:
                break
            candidates = self.rng.integers(oldest, self.total - 1, size=2 * batch_size)
            slots = candidates % self.capacity
            # a stack whose first frame has been overwritten cannot be rebuilt
            ok = self.has_next[slots] & (np.maximum(candidates - self.stack + 1, self.episode_start[slots]) >= oldest)
            chosen = np.concatenate([chosen, candidates[ok]])
        else:
            raise ValueError("the buffer holds too few complete transitions to sample")
        chosen = chosen[:batch_size]
        slots = chosen % self.capacity
        return Batch(
            observations=torch.from_numpy(self._stacks(chosen)),
            actions=torch.from_numpy(self.actions[slots]),
            rewards=torch.from_numpy(self.rewards[slots]),
            next_observations=torch.from_numpy(self._stacks(chosen + 1)),
            terminated=torch.from_numpy(self.terminated[slots]),
        )

    _STATE = ("frames", "actions", "rewards", "terminated", "has_next", "episode_start")

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Everything, ring as it stands (resume needs a buffer of the same capacity)."""
        counters = np.array([self.total, self.episode_open, getattr(self, "current", 0), getattr(self, "start", 0)])
        return {**{name: getattr(self, name) for name in self._STATE}, "counters": counters}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        from zoo.errors import ZooError

        if set(arrays) != {*self._STATE, "counters"} or arrays["frames"].shape != self.frames.shape:
            raise ZooError("The saved frame buffer does not fit this one (capacity and frame shape must match).")
        for name in self._STATE:
            getattr(self, name)[:] = arrays[name]
        self.total, _, self.current, self.start = (int(v) for v in arrays["counters"])
        self.episode_open = False  # a resumed run resets its env: the stored episode is not continued

    @property
    def nbytes(self) -> int:
        arrays = [getattr(self, name) for name in self._STATE]
        return sum(a.nbytes for a in arrays)
