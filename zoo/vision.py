"""Images for agents: the preprocessing wrappers that turn an env into channel-first uint8 frames.

Preprocessing (`ImagePipeline.wrap`), in this order, on any env that observes images or
renders `rgb_array`:
  pixels      observe env.render() instead of the env's own observation
  grayscale   RGB -> one luminance channel
  resize      area-average (or nearest, when enlarging) to [height, width]
  frame_stack the last k frames, the first frame repeated at a reset
and always channel-first uint8 [k * C, H, W], the layout CNNs take.

Their replay buffer, which stores each frame once, is zoo.replay_buffer.FrameReplayBuffer.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from zoo.errors import ZooError


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
        shape = (*self.size, *(space.shape or ())[2:])
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
