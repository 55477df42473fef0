"""Custom envs that break Gymnasium's contract, as users' envs do: the tests of zoo's refusals
(test_hostile.py) and of `zoo check` (test_env_check.py). Importing this module registers them
as test/<Name>-v0."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class ObservationsOfAnotherShape(gym.Env):
    """Says Box(3,), returns 4 numbers: SB3's check_env catches it; the loops failed deep inside."""

    observation_space = gym.spaces.Box(-1, 1, (3,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(4, np.float32), {}

    def step(self, action):
        return np.zeros(4, np.float32), 0.0, False, False, {}


class NaNAfterTheFirstStep(gym.Env):
    """Observations and rewards that turn NaN (a physics blow-up, a division by zero)."""

    observation_space = gym.spaces.Box(-1, 1, (3,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(3, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.full(3, np.nan, np.float32), float("nan"), self.t >= 20, False, {}


class AnotherShapeAfterTheReset(ObservationsOfAnotherShape):
    def reset(self, *, seed=None, options=None):
        gym.Env.reset(self, seed=seed)
        return np.zeros(3, np.float32), {}


class OldGymApi(ObservationsOfAnotherShape):
    """gym < 0.26: reset returns the observation alone, step four values."""

    def reset(self, *, seed=None, options=None):
        return np.zeros(3, np.float32)

    def step(self, action):
        return np.zeros(3, np.float32), 0.0, False, {}


class OldGymStep(OldGymApi):
    def reset(self, *, seed=None, options=None):
        return np.zeros(3, np.float32), {}


class NaNReward(ObservationsOfAnotherShape):
    """Finite observations of the right shape, episodes of 10 steps, and a NaN reward at step 7."""

    def reset(self, *, seed=None, options=None):
        gym.Env.reset(self, seed=seed)
        self.t = 0
        return np.zeros(3, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(3, np.float32), float("nan") if self.t == 7 else 0.0, self.t >= 10, False, {}


gym.register("test/NaNReward-v0", entry_point=NaNReward, disable_env_checker=True)
gym.register("test/OldGymApi-v0", entry_point=OldGymApi, disable_env_checker=True)
gym.register("test/OldGymStep-v0", entry_point=OldGymStep, disable_env_checker=True)
gym.register("test/ObservationsOfAnotherShape-v0", entry_point=ObservationsOfAnotherShape, disable_env_checker=True)
gym.register("test/AnotherShapeAfterTheReset-v0", entry_point=AnotherShapeAfterTheReset, disable_env_checker=True)
gym.register("test/NaNAfterTheFirstStep-v0", entry_point=NaNAfterTheFirstStep, disable_env_checker=True)
