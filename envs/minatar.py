"""MinAtar (Young & Tian 2019) games as Gymnasium 1.x envs, registered as MinAtar/<Game>-v0
(all six actions) and -v1 (each game's minimal action set), like MinAtar's own ids.

A thin adapter of our own over `minatar.Environment` (optional extra `minatar`), because
MinAtar 1.0.15's Gymnasium class registers only through the plugin hook Gymnasium 1.x no
longer reads, ignores `reset(seed=...)`'s contract, has no time limit and renders floats.
Here:
  - `reset(seed=s)` seeds Gymnasium's `np_random` and, from it, the game's own RandomState,
    so a seed fixes the whole episode stream (sticky actions included);
  - observations are the game's channels as uint8 0/255 images [10, 10, channels], so they
    go through the image pipeline (and a CNN's /255) like any frame;
  - the registration adds a time limit (MAX_EPISODE_STEPS);
  - `rgb_array` is uint8, one colour per channel, `scale` pixels per cell.
"""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np
from gymnasium import Env, spaces
from gymnasium.error import DependencyNotInstalled

GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
MAX_EPISODE_STEPS = 10_000  # MinAtar episodes end by themselves; this caps a stalling policy


def game_id(game: str, version: int) -> str:
    return f"MinAtar/{game.title().replace('_', '')}-v{version}"


class MinAtarEnv(Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, game: str, minimal_action_set: bool = True, sticky_action_prob: float = 0.1,
                 difficulty_ramping: bool = True, render_mode: str | None = None, scale: int = 8):
        try:
            from minatar import Environment
        except ImportError:
            raise DependencyNotInstalled("MinAtar is not installed: pip install 'zoo[minatar]'") from None
        if game not in GAMES:
            raise ValueError(f"unknown MinAtar game {game!r}; choose from {', '.join(GAMES)}")
        self.game = Environment(game, sticky_action_prob=sticky_action_prob, difficulty_ramping=difficulty_ramping)
        self.actions = self.game.minimal_action_set() if minimal_action_set else list(range(self.game.num_actions()))
        self.action_space = spaces.Discrete(len(self.actions))
        self.observation_space = spaces.Box(0, 255, self.game.state_shape(), np.uint8)
        self.render_mode, self.scale = render_mode, int(scale)
        channels = self.game.state_shape()[2]
        # evenly spaced hues, one per channel, on black
        self.palette = np.array([(0, 0, 0)] + [
            tuple(int(255 * c) for c in colorsys.hsv_to_rgb(i / channels, 0.7, 0.95)) for i in range(channels)
        ], dtype=np.uint8)
        self._seeded = False

    def _observation(self) -> np.ndarray:
        return self.game.state().astype(np.uint8) * np.uint8(255)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None or not self._seeded:
            self.game.seed(int(self.np_random.integers(2**31 - 1)))
            self._seeded = True
        self.game.reset()
        return self._observation(), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        reward, done = self.game.act(self.actions[int(action)])
        return self._observation(), float(reward), bool(done), False, {}

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        state = self.game.state()
        # the highest set channel colours each cell, as MinAtar's own display does
        index = np.max(state * np.arange(1, state.shape[2] + 1), axis=2)
        return np.repeat(np.repeat(self.palette[index], self.scale, axis=0), self.scale, axis=1)
