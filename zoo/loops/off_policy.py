"""The off-policy loop (DQN family, DDPG, SAC, vision DQN): act, store, learn from replay.

Per env step: act (at random until `learning_starts`, unless the agent explores from the first
step, SAC's use_sde_at_warmup; then the agent's exploring action), store the transition, and
every `train_freq` steps (or, as SB3's (N, "episode"), every N episode ends) run
`gradient_steps` updates on batches of the replay buffer (-1: one per env step since the last
training phase). The
monitor evaluates every `eval_freq` steps on the evaluation env and tells the callbacks (logs,
best checkpoint, early stop). What the agent offers is `zoo.contracts.OffPolicyAgent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np

from zoo.allocator import keep_freed_memory
from zoo.callbacks import Callback
from zoo.contracts import Metrics, OffPolicyAgent, RunSummary
from zoo.errors import NonFiniteObservation, ZooError, brief_text
from zoo.evaluation import EvaluationEnvs
from zoo.files import write_arrays
from zoo.interrupt import StopFlag
from zoo.loops.monitor import TrainingMonitor, check_finite, refuse_misshapen, refuse_non_finite
from zoo.runs import REPLAY_BUFFER_NAME
from zoo.threads import set_training_threads


def off_policy_loop(agent: OffPolicyAgent, env: gym.Env, eval_envs: EvaluationEnvs | None, *, seed: int | None,
                    run_dir: Path, callbacks: Sequence[Callback] = (), stop: StopFlag | None = None,
                    start_step: int = 0, replay: dict[str, np.ndarray] | None = None) -> RunSummary:
    """`start_step` and `replay` (a saved buffer's arrays) continue an earlier run (resume)."""
    config = agent.config
    set_training_threads(config.n_threads)
    keep_freed_memory()  # no page faults to take back freed activations (zoo/allocator.py)
    buffer = agent.make_replay_buffer(min(config.buffer_size, config.n_timesteps), seed)
    if replay is not None:
        buffer.load_state_arrays(replay)
    random_warmup = not agent.explores_at_warmup()
    warmup_actions = agent.random_actions(max(0, config.learning_starts - start_step) if random_warmup else 0)
    monitor = TrainingMonitor(agent, config, eval_envs, callbacks, seed=seed, start_step=start_step, run_dir=run_dir,
                              replay=buffer if config.save_replay_buffer else None)
    watch_steps = monitor.watches_steps
    metrics: Metrics = {}
    updates = 0  # gradient updates of this run (or of this part of a resumed one)
    every, unit = config.train_every
    steps_since_training = episodes_since_training = 0  # since the last training phase (or the start)
    episode_return, episode_length = 0.0, 0
    step = start_step
    observation, _ = env.reset(seed=seed)
    agent.record_observation(observation)
    try:
        for step in range(start_step + 1, config.n_timesteps + 1):
            if stop is not None and stop.requested:
                step -= 1
                break
            if step <= config.learning_starts and random_warmup:
                action = warmup_actions[step - start_step - 1]
            else:
                try:
                    action = agent.take_action(observation)
                except (ValueError, RuntimeError, NonFiniteObservation):
                    refuse_non_finite(observation)
                    raise
            try:
                next_observation, reward, terminated, truncated, _ = env.step(action)
            except ValueError as error:  # the env's own, or four values (the old Gym API) for Gymnasium's five
                raise ZooError(f"The env's step failed: {brief_text(str(error), 200)}.") from None
            try:
                buffer.add(observation, action, float(reward), next_observation, terminated, truncated)
            except ValueError:
                refuse_misshapen(env.observation_space, next_observation)
                raise
            agent.record_observation(next_observation)
            observation = next_observation
            episode_return += float(reward)
            episode_length += 1
            agent.on_step(step)

            steps_since_training += 1
            if unit == "step":
                due = step % every == 0
            else:
                episodes_since_training += terminated or truncated
                due = episodes_since_training >= every
            if due and step > config.learning_starts:
                gradient_steps = config.gradient_steps if config.gradient_steps >= 0 else steps_since_training
                # An update in numpy (zoo/hand_mlp.py) that overflows would print numpy's float
                # warnings from deep inside; as with torch, check_finite reports it, in one line.
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    for _ in range(gradient_steps):
                        metrics = agent.update(buffer.sample(config.batch_size))
                updates += gradient_steps
                check_finite(metrics, step, buffer.learned_from)
            if due:  # a collection ends, with or without training (SB3's rollout of train_freq)
                steps_since_training = episodes_since_training = 0
                agent.on_collection_end()

            stop_now = watch_steps and monitor.step_done(step)
            if terminated or truncated:
                agent.on_episode_end()
                stop_now = monitor.episode_done(step, episode_return, episode_length, metrics) or stop_now
                episode_return, episode_length = 0.0, 0
                observation, _ = env.reset()
                agent.record_observation(observation)

            monitor.checkpoint_if_due(step)
            if monitor.evaluate_if_due(step) or stop_now:
                break
    finally:
        summary = monitor.close(step)
        summary["updates"] = updates  # 0: the budget ended within the warm-up (zoo train says so)
        agent.num_timesteps = step
        if config.save_replay_buffer:
            write_arrays(run_dir / REPLAY_BUFFER_NAME, buffer.state_arrays())
    return summary
