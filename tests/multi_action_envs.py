"""Envs with MultiDiscrete and MultiBinary actions, for the on-policy agents' tests (no env in
Gymnasium's own set has them). Importing this module registers them, so the CLI can name them
as `multi_action_envs:MultiGuess-v0`, as a user names their package's envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class GuessTheCode(gym.Env):
    """Each step shows a code, one digit per action dimension (one-hot), and pays 1 for every
    digit the action repeats; 8 steps an episode. A uniform policy earns sum(1 / choices) a
    step (MultiGuess: 1/3 + 1/4, 4.67 an episode), the code's reader 16 (MultiGuess) or 24
    (BinaryGuess's 3 bits)."""

    metadata = {"render_modes": []}
    EPISODE_LENGTH = 8

    def __init__(self, choices: tuple[int, ...] = (3, 4), binary: bool = False):
        self.choices = tuple(choices)
        self.action_space = (gym.spaces.MultiBinary(len(self.choices)) if binary
                             else gym.spaces.MultiDiscrete(list(self.choices)))
        self.observation_space = gym.spaces.Box(0.0, 1.0, (sum(self.choices),), np.float32)
        self.code = np.zeros(len(self.choices), dtype=np.int64)
        self.steps = 0

    def _observation(self) -> np.ndarray:
        observation = np.zeros(sum(self.choices), dtype=np.float32)
        observation[np.cumsum((0, *self.choices[:-1])) + self.code] = 1.0
        return observation

    def _draw(self) -> None:
        self.code = np.array([self.np_random.integers(n) for n in self.choices])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.steps = 0
        self._draw()
        return self._observation(), {}

    def step(self, action):
        action = np.asarray(action).reshape(-1)
        if action.shape != self.code.shape:
            raise ValueError(f"expected {len(self.code)} digits, got {action}")
        reward = float((action == self.code).sum())
        self.steps += 1
        self._draw()
        return self._observation(), reward, False, self.steps >= self.EPISODE_LENGTH, {}


gym.register("MultiGuess-v0", entry_point=GuessTheCode)
gym.register("BinaryGuess-v0", entry_point=GuessTheCode, kwargs={"choices": (2, 2, 2), "binary": True})
