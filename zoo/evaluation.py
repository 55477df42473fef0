"""Run an agent for whole episodes and report its returns (like SB3's evaluate_policy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np


class Player(Protocol):
    """Anything that acts: our agents, or SB3's models in a benchmark."""

    def take_action(self, observation: Any, deterministic: bool = False) -> Any: ...


@dataclass
class EvaluationResult:
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))

    def to_dict(self) -> dict[str, Any]:
        return {
            "episodes": len(self.returns),
            "mean_return": self.mean,
            "std_return": self.std,
            "min_return": float(np.min(self.returns)),
            "max_return": float(np.max(self.returns)),
            "mean_length": float(np.mean(self.lengths)),
            "returns": [float(r) for r in self.returns],
            "lengths": [int(n) for n in self.lengths],
        }


def evaluate_agent(
    agent: Player,
    env: gym.Env,
    n_episodes: int = 10,
    *,
    deterministic: bool = True,
    seed: int | None = None,
    on_step: Callable[[gym.Env], None] | None = None,
) -> EvaluationResult:
    """Play `n_episodes`; the env is seeded once, at the first reset, so episodes differ.

    `on_step(env)` is called after every reset and step (e.g. to print an ansi frame).
    """
    from zoo.config import check_seed

    check_seed(seed)
    result = EvaluationResult()
    for episode in range(n_episodes):
        observation, _ = env.reset(seed=seed if episode == 0 else None)
        if on_step:
            on_step(env)
        episode_return, length, done = 0.0, 0, False
        while not done:
            action = agent.take_action(observation, deterministic=deterministic)
            observation, reward, terminated, truncated, _ = env.step(action)
            episode_return += float(reward)
            length += 1
            done = terminated or truncated
            if on_step:
                on_step(env)
        result.returns.append(episode_return)
        result.lengths.append(length)
    return result
