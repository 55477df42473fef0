"""A K-armed Bernoulli bandit: arm k pays 1 with probability ``probs[k]``, else 0."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import Env, spaces

MAX_ARMS = 1_000_000  # each arm costs a few numbers in every solver's tables


class BernoulliBanditEnv(Env):
    """K-armed Bernoulli bandit as a Gymnasium env.

    The observation is constant (a bandit has no state). The arm probabilities are drawn
    uniformly from the env's ``np_random`` at the first ``reset`` and at every
    ``reset(seed=...)``; a ``reset()`` without a seed keeps the current problem, so that a
    learner can play several episodes of the same bandit. Pass ``probs=[...]`` to fix them.

    ``info`` carries ``prob`` (the pulled arm's probability) and ``best_prob`` so that anyone
    can compute the regret ``best_prob - prob`` of a pull.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 30}

    def __init__(
        self,
        n_arms: int = 10,
        probs: list[float] | None = None,
        max_steps: int = 5000,
        render_mode: str | None = None,
    ):
        if probs is not None:
            try:
                fixed = np.asarray(probs, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError("probs must be a list of probabilities in [0, 1]") from None
            # written so that NaN fails it too
            if fixed.ndim != 1 or not 1 <= fixed.size <= MAX_ARMS or not np.all((fixed >= 0) & (fixed <= 1)):
                raise ValueError(f"probs must be a list of 1 to {MAX_ARMS} probabilities in [0, 1]")
            n_arms = fixed.size
        else:
            fixed = None
        if isinstance(n_arms, bool) or not isinstance(n_arms, (int, np.integer)) or not 1 <= n_arms <= MAX_ARMS:
            raise ValueError(f"n_arms must be a whole number from 1 to {MAX_ARMS}, got {n_arms!r:.40}")
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or not 1 <= max_steps < 2**53:
            raise ValueError(f"max_steps must be a whole number of at least 1, got {max_steps!r:.40}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")

        self.n_arms = int(n_arms)
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(self.n_arms)
        self.observation_space = spaces.Discrete(1)

        self._fixed_probs = fixed
        self.probs: np.ndarray | None = None if fixed is None else fixed.copy()
        self.counts = np.zeros(self.n_arms, dtype=np.int64)
        self.steps = 0
        self.last_action: int | None = None
        self.last_reward: float | None = None

    @property
    def best_prob(self) -> float:
        return float(np.max(self.probs))

    @property
    def best_arm(self) -> int:
        return int(np.argmax(self.probs))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if self._fixed_probs is None and (seed is not None or self.probs is None):
            self.probs = self.np_random.uniform(size=self.n_arms)
        self.counts[:] = 0
        self.steps = 0
        self.last_action = None
        self.last_reward = None
        return 0, {"best_prob": self.best_prob}

    def step(self, action):
        if self.probs is None:
            raise RuntimeError("BernoulliBandit-v0: call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(
                f"BernoulliBandit-v0: invalid action {action!r}; "
                f"expected an arm index, an int in [0, {self.n_arms})"
            )
        arm = int(action)
        prob = float(self.probs[arm])
        reward = 1.0 if self.np_random.random() < prob else 0.0
        self.counts[arm] += 1
        self.steps += 1
        self.last_action = arm
        self.last_reward = reward
        truncated = self.steps >= self.max_steps
        return 0, reward, False, truncated, {"prob": prob, "best_prob": self.best_prob}

    def render(self):
        if self.render_mode != "ansi":
            return None
        lines = [f"step {self.steps}/{self.max_steps}"]
        for arm, prob in enumerate(self.probs if self.probs is not None else []):
            marker = ">" if arm == self.last_action else " "
            best = " best" if arm == self.best_arm else ""
            lines.append(f"{marker} arm {arm:2d}  p={prob:.3f}  pulls={self.counts[arm]:5d}{best}")
        if self.last_reward is not None:
            lines.append(f"last pull: arm {self.last_action} paid {self.last_reward:.0f}")
        return "\n".join(lines) + "\n"
