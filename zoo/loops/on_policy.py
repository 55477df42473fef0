"""The on-policy loop (REINFORCE, Actor-Critic): collect a rollout with the current policy
from N envs stepped together (gymnasium.vector), learn from it once, throw it away.

A rollout is `n_steps` steps of every env, or, with `n_steps: 0` (REINFORCE), one whole
episode of a single env. The agent samples a batch of actions, one per env
(`zoo.contracts.OnPolicyAgent.act_batch`): they are stored as sampled (e.g. unclipped
Gaussian samples) and the envs receive the env actions. Evaluation, logs and early stop are
the monitor's (zoo/loops/monitor.py). Ctrl-C stops after the current update.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np

from zoo.allocator import keep_freed_memory
from zoo.callbacks import Callback
from zoo.contracts import Metrics, OnPolicyAgent, Rollout, RunSummary
from zoo.errors import NonFiniteObservation, ZooError, brief_text
from zoo.evaluation import EvaluationEnvs
from zoo.interrupt import StopFlag
from zoo.loops.monitor import TrainingMonitor, check_finite, refuse_non_finite
from zoo.threads import set_training_threads


class RolloutCollector:
    """Steps the vector env with the agent's actions and keeps the episode bookkeeping."""

    def __init__(self, agent: OnPolicyAgent, envs: gym.vector.VectorEnv, monitor: TrainingMonitor,
                 seed: int | None, start_step: int = 0, stop: StopFlag | None = None):
        self.agent, self.envs, self.monitor, self.stop = agent, envs, monitor, stop
        self.observations, _ = envs.reset(seed=seed)
        self.episode_returns = np.zeros(envs.num_envs)
        self.episode_lengths = np.zeros(envs.num_envs, dtype=np.int64)
        self.steps = start_step
        self.last_metrics: Metrics = {}
        self.stop_requested = False  # a callback asked to stop
        self.interrupted = False  # Ctrl-C or SIGTERM came during the last collect: its rollout is cut short

    def collect(self, n_steps: int) -> Rollout:
        """`n_steps` steps of every env, or (0) until the first episode ends. Ctrl-C or SIGTERM
        (the stop flag) ends it at the next step, `interrupted`: a whole episode (REINFORCE's
        rollout) may take minutes on a long time limit, and the signal would wait for its end."""
        columns: dict[str, list[np.ndarray]] = {
            key: [] for key in ("obs", "actions", "rewards", "terminated", "truncated", "next", "log_probs", "values")}
        t = 0
        while n_steps == 0 or t < n_steps:
            if self.stop is not None and self.stop.requested:
                self.interrupted = True
                break
            try:
                decided = self.agent.act_batch(self.observations)
            except (ValueError, RuntimeError, NonFiniteObservation):
                refuse_non_finite(self.observations)
                raise
            try:
                next_observations, rewards, terminated, truncated, infos = self.envs.step(decided.env_actions)
            except ValueError as error:  # an env's own, or Gymnasium's on an observation that does not fit
                raise ZooError(f"The env's step failed: {brief_text(str(error), 200)} (its observation_space is "
                               f"{self.envs.single_observation_space}).") from None
            true_next = next_observations.copy()
            if "_final_obs" in infos:
                for i in np.flatnonzero(infos["_final_obs"]):
                    true_next[i] = infos["final_obs"][i]
            for key, value in (("obs", self.observations), ("actions", decided.actions), ("rewards", rewards),
                               ("terminated", terminated), ("truncated", truncated), ("next", true_next),
                               ("log_probs", decided.log_probs), ("values", decided.values)):
                if value is not None:
                    columns[key].append(value)
            self.observations = next_observations
            self.steps += self.envs.num_envs
            t += 1
            self.episode_returns += rewards
            self.episode_lengths += 1
            if self.monitor.watches_steps and self.monitor.step_done(self.steps):
                self.stop_requested = True
            done = np.logical_or(terminated, truncated)
            for i in np.flatnonzero(done):
                if self.monitor.episode_done(self.steps, float(self.episode_returns[i]),
                                             int(self.episode_lengths[i]), self.last_metrics):
                    self.stop_requested = True
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
            log_probs=np.asarray(columns["log_probs"], dtype=np.float32) if columns["log_probs"] else None,
            values=np.asarray(columns["values"], dtype=np.float32) if columns["values"] else None,
        )


def on_policy_loop(agent: OnPolicyAgent, envs: gym.vector.VectorEnv, eval_envs: EvaluationEnvs | None, *,
                   seed: int | None, callbacks: Sequence[Callback] = (), stop: StopFlag | None = None,
                   start_step: int = 0, run_dir: Path | None = None) -> RunSummary:
    """`start_step`: env steps an earlier run already trained (resume). `run_dir`: where
    save_freq's checkpoints go, taken between two rollouts (None: none). Closes `envs`."""
    config = agent.config
    set_training_threads(config.n_threads)
    keep_freed_memory()  # no page faults to take back freed activations (zoo/allocator.py)
    monitor = TrainingMonitor(agent, config, eval_envs, callbacks, seed=seed, start_step=start_step, run_dir=run_dir)
    collector = RolloutCollector(agent, envs, monitor, seed, start_step, stop)
    try:
        while collector.steps < config.n_timesteps and not (stop is not None and stop.requested):
            rollout = collector.collect(config.n_steps)
            if collector.interrupted:  # no update from a rollout cut short (SB3 alike): what was learned is kept
                break
            collector.last_metrics = agent.update(rollout)
            check_finite(collector.last_metrics, collector.steps, rollout.learned_from)
            monitor.checkpoint_if_due(collector.steps)
            if monitor.evaluate_if_due(collector.steps) or collector.stop_requested:
                break
    finally:
        summary = monitor.close(collector.steps)
        agent.num_timesteps = collector.steps
        envs.close()
    return summary
