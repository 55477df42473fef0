"""Run an agent for whole episodes and report its returns (like SB3's evaluate_policy)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from zoo.environments import NON_FINITE_OBSERVATION, holds_non_finite
from zoo.errors import ZooError

# Training's evaluation envs: copies of the env, or its own vector version (EnvDescription.make_for_evaluation).
EvaluationEnvs = Sequence[gym.Env] | gym.vector.VectorEnv


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
    max_steps: int | None = None,
    on_env_step: Callable[[], None] | None = None,
    on_episode: Callable[[float, int], None] | None = None,
) -> EvaluationResult:
    """Play `n_episodes`; the env is seeded once, at the first reset, so episodes differ.

    `on_step(env)` is called after every reset and step (e.g. to print an ansi frame), and
    `on_env_step()` after every step alone (a progress bar of steps), `on_episode(return,
    length)` at every episode's end (a log written as it goes).
    `max_steps` (RL Zoo's enjoy -n) ends the play after that many env steps in all; an episode
    it cuts short is not in the result.
    """
    from zoo.config import check_seed

    check_seed(seed)
    result = EvaluationResult()
    steps = 0
    for episode in range(n_episodes):
        if max_steps is not None and steps >= max_steps:
            break
        observation, _ = env.reset(seed=seed if episode == 0 else None)
        if on_step:
            on_step(env)
        episode_return, length, done = 0.0, 0, False
        while not done:
            if max_steps is not None and steps >= max_steps:
                return result
            steps += 1
            refuse_non_finite(observation)
            action = agent.take_action(observation, deterministic=deterministic)
            observation, reward, terminated, truncated, _ = env.step(action)
            episode_return += float(reward)
            length += 1
            done = terminated or truncated
            if on_step:
                on_step(env)
            if on_env_step:
                on_env_step()
        result.returns.append(episode_return)
        result.lengths.append(length)
        if on_episode:
            on_episode(episode_return, length)
    return result


def refuse_non_finite(observation: Any) -> None:
    """A NaN observation made DQN's argmax pick action 0 and DDPG send NaN to the env, silently:
    an evaluation (zoo evaluate, enjoy, training's) names the env instead."""
    if holds_non_finite(observation):
        raise ZooError(NON_FINITE_OBSERVATION)


def greedy_actions(agent: Player, observations: np.ndarray | list) -> Any:
    """The deterministic actions for several observations at once: the agent's own batched
    `greedy_actions` when it has one (one forward pass for all), else one take_action each."""
    batched = getattr(agent, "greedy_actions", None)
    if batched is not None and isinstance(observations, np.ndarray):
        return batched(observations)
    return [agent.take_action(observation, deterministic=True) for observation in observations]


def evaluate_in_lockstep(agent: Player, envs: EvaluationEnvs, n_episodes: int, *,
                         seed: int | None = None) -> EvaluationResult:
    """Play `n_episodes` of the deterministic policy on several copies of the env at once, one
    batched forward pass per step for all running episodes (training's periodic evaluation).

    Episodes are dealt to the copies up front, env i playing every len(envs)-th one (as SB3's
    evaluate_policy does on a VecEnv): dealing them to whichever copy finishes first would favour
    short episodes. `envs` is a list of single envs or a VectorEnv whose sub-envs reset themselves
    on the step after an episode ends (Gymnasium's next-step autoreset, e.g. CartPole's numpy
    vector env). The envs are seeded by whoever made them, or here, env i with `seed` + i at its
    first reset (as a VectorEnv seeds its sub-envs); every call starts fresh episodes.
    """
    if isinstance(envs, gym.vector.VectorEnv):
        return _evaluate_on_vector_env(agent, envs, n_episodes, seed)
    n_envs = len(envs)
    episodes_left = [len(range(index, n_episodes, n_envs)) for index in range(n_envs)]
    playing = [index for index in range(n_envs) if episodes_left[index] > 0]
    observations = {index: envs[index].reset(seed=None if seed is None else seed + index)[0] for index in playing}
    returns = dict.fromkeys(playing, 0.0)
    lengths = dict.fromkeys(playing, 0)
    stackable = isinstance(envs[0].observation_space, gym.spaces.Box)
    result = EvaluationResult()
    while playing:
        batch = [observations[index] for index in playing]
        batch_or_stack = np.stack(batch) if stackable else batch
        refuse_non_finite(batch_or_stack)
        actions = greedy_actions(agent, batch_or_stack)
        still_playing = []
        for index, action in zip(playing, actions):
            observation, reward, terminated, truncated, _ = envs[index].step(action)
            returns[index] += float(reward)
            lengths[index] += 1
            if terminated or truncated:
                result.returns.append(returns[index])
                result.lengths.append(lengths[index])
                episodes_left[index] -= 1
                if episodes_left[index] == 0:
                    continue
                observation, _ = envs[index].reset()
                returns[index], lengths[index] = 0.0, 0
            observations[index] = observation
            still_playing.append(index)
        playing = still_playing
    return result


def _evaluate_on_vector_env(agent: Player, envs: gym.vector.VectorEnv, n_episodes: int,
                            seed: int | None) -> EvaluationResult:
    n_envs = envs.num_envs
    episodes_left = np.array([len(range(index, n_episodes, n_envs)) for index in range(n_envs)])
    observations, _ = envs.reset(seed=seed)
    returns = np.zeros(n_envs)
    lengths = np.zeros(n_envs, dtype=np.int64)
    resetting = np.zeros(n_envs, dtype=bool)  # this step only resets these sub-envs (next-step autoreset)
    result = EvaluationResult()
    while episodes_left.any():
        refuse_non_finite(observations)
        actions = np.asarray(greedy_actions(agent, observations))
        observations, rewards, terminated, truncated, _ = envs.step(actions)
        counted = (episodes_left > 0) & ~resetting
        returns[counted] += rewards[counted]
        lengths[counted] += 1
        ended = counted & (terminated | truncated)
        for index in np.flatnonzero(ended):
            result.returns.append(float(returns[index]))
            result.lengths.append(int(lengths[index]))
        episodes_left[ended] -= 1
        returns[ended], lengths[ended] = 0.0, 0
        resetting = ended
    return result
