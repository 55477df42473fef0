"""The off-policy loop (DQN family, DDPG, SAC): act, store, learn from replayed batches.

Per env step: act (random until `learning_starts`, then the agent's exploring action), store
the transition, and every `train_freq` steps run `gradient_steps` updates on batches of the
replay buffer. Every `eval_freq` steps the deterministic policy is evaluated on a separate
env and the best checkpoint kept. Episodes go to progress.csv, evaluations to
evaluations.csv; a Rich bar shows steps/s and the recent mean return.

An agent driven by this loop provides, beyond the protocol:
  random_actions(n)   n uniformly random actions at once (Box.sample costs ~30 us each)
  on_step(t)          called after env step t (exploration schedules, target updates)
  replay_shapes()     (observation shape, observation dtype, action shape, action dtype)
  make_replay_buffer(capacity, seed)   optional: a buffer of its own instead of ReplayBuffer
  record_observation(obs)              optional: sees every observation of training (statistics)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from zoo.checkpoint import write_arrays
from zoo.interrupt import StopFlag
from zoo.loops.monitor import TrainingConfig, TrainingMonitor
from zoo.networks import set_torch_threads
from zoo.replay_buffer import ReplayBuffer


@dataclass
class OffPolicyConfig(TrainingConfig):
    """What the loop needs; each algorithm's config adds its own fields to these."""

    buffer_size: int = 1_000_000  # replay capacity, in transitions
    learning_starts: int = 100  # random-action steps before the first update
    batch_size: int = 32  # transitions per update
    train_freq: int = 4  # env steps between training phases
    gradient_steps: int = 1  # updates per training phase
    save_replay_buffer: bool = False  # keep replay_buffer.npz in the run, for `zoo train --resume`

    def __post_init__(self):
        super().__post_init__()
        for name in ("buffer_size", "batch_size", "train_freq"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("learning_starts", "gradient_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


REPLAY_BUFFER_NAME = "replay_buffer.npz"


def off_policy_loop(agent: Any, env: gym.Env, config: OffPolicyConfig, *, seed: int | None, run_dir: Path,
                    stop: StopFlag | None = None, progress: bool = False, tensorboard: bool = False,
                    start_step: int = 0, replay: dict | None = None) -> dict[str, Any]:
    """`start_step` and `replay` (a saved buffer's arrays) continue an earlier run (resume);
    `tensorboard` also logs to RUN_DIR/tensorboard."""
    set_torch_threads(config.n_threads)
    capacity = min(config.buffer_size, config.n_timesteps)
    if hasattr(agent, "make_replay_buffer"):  # e.g. vision agents keep each frame once
        buffer = agent.make_replay_buffer(capacity, seed)
    else:
        observation_shape, observation_dtype, action_shape, action_dtype = agent.replay_shapes()
        buffer = ReplayBuffer(capacity, observation_shape, action_shape, observation_dtype, action_dtype, seed=seed)
    if replay is not None:
        buffer.load_state_arrays(replay)
    warmup_actions = agent.random_actions(max(0, config.learning_starts - start_step))
    monitor = TrainingMonitor(agent, config, run_dir, seed, progress, tensorboard)
    metrics: dict[str, float] = {}
    episode_return, episode_length = 0.0, 0
    step = start_step
    record_observation = getattr(agent, "record_observation", None)
    observation, _ = env.reset(seed=seed)
    if record_observation:
        record_observation(observation)
    try:
        for step in range(start_step + 1, config.n_timesteps + 1):
            if stop is not None and stop.requested:
                step -= 1
                break
            if step <= config.learning_starts:
                action = warmup_actions[step - start_step - 1]
            else:
                action = agent.take_action(observation)
            next_observation, reward, terminated, truncated, _ = env.step(action)
            buffer.add(observation, action, reward, next_observation, terminated, truncated)
            if record_observation:
                record_observation(next_observation)
            observation = next_observation
            episode_return += float(reward)
            episode_length += 1
            agent.on_step(step)

            if step > config.learning_starts and step % config.train_freq == 0:
                for _ in range(config.gradient_steps):
                    metrics = agent.update(buffer.sample(config.batch_size))

            if terminated or truncated:
                monitor.episode_done(step, episode_return, episode_length, metrics)
                episode_return, episode_length = 0.0, 0
                observation, _ = env.reset()
                if record_observation:
                    record_observation(observation)

            if monitor.evaluate_if_due(step):
                break
    finally:
        summary = monitor.close(step)
        agent.num_timesteps = step
        if config.save_replay_buffer:
            write_arrays(run_dir / REPLAY_BUFFER_NAME, buffer.state_arrays())
    return summary
