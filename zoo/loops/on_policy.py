"""The on-policy loop (REINFORCE, Actor-Critic): collect a rollout with the current policy
from N envs stepped together (gymnasium.vector), learn from it once, throw it away.

A rollout is `n_steps` steps of every env, or, with `n_steps: 0` (REINFORCE), one whole
episode of a single env. Progress bar, logs, evaluation, best checkpoint and early stop are
the off-policy loop's (zoo/loops/monitor.py). Ctrl-C stops after the current update.

An agent driven by this loop has, beyond the protocol, a `policy` (zoo.policies.PolicyNetwork):
the loop samples a batch of actions from it, one per env, stores them as sampled (e.g.
unclipped Gaussian samples) and sends the env `policy.to_env(actions)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from zoo.environments import make_vector_env
from zoo.interrupt import StopFlag
from zoo.loops.monitor import TrainingConfig, TrainingMonitor
from zoo.networks import set_torch_threads


@dataclass
class OnPolicyConfig(TrainingConfig):
    n_envs: int = 1  # envs stepped together
    n_steps: int = 5  # steps per env per rollout; 0: one whole episode (needs n_envs: 1)
    vectorization: Literal["sync", "async"] = "sync"  # async: one subprocess per env

    def __post_init__(self):
        super().__post_init__()
        if self.n_envs < 1 or self.n_steps < 0:
            raise ValueError(f"n_envs must be >= 1 and n_steps >= 0, got {self.n_envs} and {self.n_steps}")
        if self.n_steps == 0 and self.n_envs != 1:
            raise ValueError("n_steps: 0 (whole episodes) needs n_envs: 1")


@dataclass
class Rollout:
    observations: np.ndarray  # [T, N, *obs]
    actions: np.ndarray  # [T, N, *act], as sampled
    rewards: np.ndarray  # [T, N]
    terminated: np.ndarray  # [T, N] float
    truncated: np.ndarray  # [T, N] float
    next_observations: np.ndarray  # [T, N, *obs]: what followed each step (an episode's last obs where it ended)


class _Collector:
    def __init__(self, agent: Any, envs: gym.vector.VectorEnv, monitor: TrainingMonitor, seed: int | None):
        self.agent, self.envs, self.monitor = agent, envs, monitor
        self.observations, _ = envs.reset(seed=seed)
        self.episode_returns = np.zeros(envs.num_envs)
        self.episode_lengths = np.zeros(envs.num_envs, dtype=np.int64)
        self.steps = 0
        self.last_metrics: dict[str, Any] = {}

    def collect(self, n_steps: int) -> Rollout:
        columns: dict[str, list] = {k: [] for k in ("obs", "actions", "rewards", "terminated", "truncated", "next")}
        t = 0
        while n_steps == 0 or t < n_steps:
            actions = self.agent.policy.sample(self.observations)
            next_observations, rewards, terminated, truncated, infos = self.envs.step(self.agent.policy.to_env(actions))
            true_next = next_observations.copy()
            if "_final_obs" in infos:
                for i in np.flatnonzero(infos["_final_obs"]):
                    true_next[i] = infos["final_obs"][i]
            for key, value in (("obs", self.observations), ("actions", actions), ("rewards", rewards),
                               ("terminated", terminated), ("truncated", truncated), ("next", true_next)):
                columns[key].append(value)
            self.observations = next_observations
            self.steps += self.envs.num_envs
            t += 1
            self.episode_returns += rewards
            self.episode_lengths += 1
            done = np.logical_or(terminated, truncated)
            for i in np.flatnonzero(done):
                self.monitor.episode_done(self.steps, float(self.episode_returns[i]), int(self.episode_lengths[i]),
                                          self.last_metrics)
                self.episode_returns[i], self.episode_lengths[i] = 0.0, 0
            if n_steps == 0 and done.any():
                break
        return Rollout(
            observations=np.asarray(columns["obs"], dtype=np.float32),
            actions=np.asarray(columns["actions"]),
            rewards=np.asarray(columns["rewards"], dtype=np.float64),
            terminated=np.asarray(columns["terminated"], dtype=np.float64),
            truncated=np.asarray(columns["truncated"], dtype=np.float64),
            next_observations=np.asarray(columns["next"], dtype=np.float32),
        )


def on_policy_loop(agent: Any, env: gym.Env, config: OnPolicyConfig, *, seed: int | None, run_dir: Path,
                   stop: StopFlag | None = None, progress: bool = False, tensorboard: bool = False,
                   start_step: int = 0) -> dict[str, Any]:
    """`start_step`: env steps an earlier run already trained (resume); `tensorboard` also logs
    to RUN_DIR/tensorboard."""
    set_torch_threads(config.n_threads)
    envs = make_vector_env(agent.env_id, config.n_envs, agent.env_kwargs, config.vectorization)
    monitor = TrainingMonitor(agent, config, run_dir, seed, progress, tensorboard)
    collector = _Collector(agent, envs, monitor, seed)
    collector.steps = start_step
    try:
        while collector.steps < config.n_timesteps and not (stop is not None and stop.requested):
            metrics = agent.update(collector.collect(config.n_steps))
            collector.last_metrics = metrics
            if monitor.evaluate_if_due(collector.steps):
                break
    finally:
        summary = monitor.close(collector.steps)
        agent.num_timesteps = collector.steps
        envs.close()
    return summary
