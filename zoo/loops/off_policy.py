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
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from zoo.environments import make_env
from zoo.evaluation import evaluate_agent
from zoo.interrupt import StopFlag
from zoo.networks import set_torch_threads
from zoo.replay_buffer import ReplayBuffer
from zoo.runs import PROGRESS_NAME, CsvLog

EVALUATIONS_NAME = "evaluations.csv"
BEST_CHECKPOINT_NAME = "best_model.zip"


@dataclass
class OffPolicyConfig:
    """What the loop needs; each algorithm's config adds its own fields to these."""

    n_timesteps: int = 100_000  # env steps of training
    buffer_size: int = 1_000_000  # replay capacity, in transitions
    learning_starts: int = 100  # random-action steps before the first update
    batch_size: int = 32  # transitions per update
    gamma: float = 0.99  # discount factor
    train_freq: int = 4  # env steps between training phases
    gradient_steps: int = 1  # updates per training phase
    eval_freq: int = 10_000  # env steps between evaluations (0: none)
    n_eval_episodes: int = 10  # episodes per evaluation
    # Stop once an evaluation's mean return reaches this (SB3's StopTrainingOnRewardThreshold);
    # the policy that reached it is the final one. None: always use the whole budget.
    stop_at_return: float | None = None
    n_threads: int = 1  # torch threads; one is fastest for small networks on this CPU

    def __post_init__(self):
        for name in ("n_timesteps", "buffer_size", "batch_size", "train_freq", "n_eval_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("learning_starts", "gradient_steps", "eval_freq", "n_threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.stop_at_return is not None and self.eval_freq == 0:
            raise ValueError("stop_at_return needs evaluations: set eval_freq > 0")


class _ProgressBar:
    """A Rich bar updated a few times a second at most, so it costs nothing per step."""

    def __init__(self, enabled: bool, total: int, description: str):
        self.progress = None
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[speed]} steps/s"), TextColumn("return {task.fields[recent]}"),
            TimeRemainingColumn(), transient=False,
        )
        self.task = self.progress.add_task(description, total=total, speed="-", recent="-")
        self.progress.start()
        self.started = time.perf_counter()
        self.last = 0.0

    def update(self, step: int, recent_returns: deque, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.25:
            return
        self.last = now
        recent = f"{np.mean(recent_returns):.1f}" if recent_returns else "-"
        speed = f"{step / max(now - self.started, 1e-9):.0f}"
        self.progress.update(self.task, completed=step, speed=speed, recent=recent)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def off_policy_loop(agent: Any, env: gym.Env, config: OffPolicyConfig, *, seed: int | None, run_dir: Path,
                    stop: StopFlag | None = None, progress: bool = False) -> dict[str, Any]:
    set_torch_threads(config.n_threads)
    observation_shape, observation_dtype, action_shape, action_dtype = agent.replay_shapes()
    buffer = ReplayBuffer(min(config.buffer_size, config.n_timesteps), observation_shape, action_shape,
                          observation_dtype, action_dtype, seed=seed)
    eval_env = make_env(agent.env_id, agent.env_kwargs) if config.eval_freq > 0 else None
    if eval_env is not None:
        eval_env.reset(seed=None if seed is None else seed + 1_000)  # its own stream, apart from training's
    warmup_actions = agent.random_actions(config.learning_starts)

    recent_returns: deque = deque(maxlen=100)
    best_eval, last_eval, metrics, solved_at = -np.inf, None, {}, None
    bar = _ProgressBar(progress, config.n_timesteps, f"{agent.algo} {agent.env_id}")
    started = time.perf_counter()
    episode_return, episode_length, episodes = 0.0, 0, 0
    step = 0
    observation, _ = env.reset(seed=seed)
    with CsvLog(run_dir / PROGRESS_NAME, ["step", "episode", "return", "length", "loss", "time"]) as episode_log, \
            CsvLog(run_dir / EVALUATIONS_NAME, ["step", "mean_return", "std_return", "mean_length", "time"]) as eval_log:
        try:
            for step in range(1, config.n_timesteps + 1):
                if stop is not None and stop.requested:
                    step -= 1
                    break
                if step <= config.learning_starts:
                    action = warmup_actions[step - 1]
                else:
                    action = agent.take_action(observation)
                next_observation, reward, terminated, truncated, _ = env.step(action)
                buffer.add(observation, action, reward, next_observation, terminated, truncated)
                observation = next_observation
                episode_return += float(reward)
                episode_length += 1
                agent.on_step(step)

                if step > config.learning_starts and step % config.train_freq == 0:
                    for _ in range(config.gradient_steps):
                        metrics = agent.update(buffer.sample(config.batch_size))

                if terminated or truncated:
                    episodes += 1
                    recent_returns.append(episode_return)
                    episode_log.write(step=step, episode=episodes, **{"return": episode_return},
                                      length=episode_length, loss=metrics.get("loss", ""),
                                      time=round(time.perf_counter() - started, 3))
                    episode_return, episode_length = 0.0, 0
                    observation, _ = env.reset()
                    bar.update(step, recent_returns)

                if eval_env is not None and step % config.eval_freq == 0:
                    last_eval = evaluate_agent(agent, eval_env, config.n_eval_episodes)
                    eval_log.write(step=step, mean_return=last_eval.mean, std_return=last_eval.std,
                                   mean_length=float(np.mean(last_eval.lengths)),
                                   time=round(time.perf_counter() - started, 3))
                    if last_eval.mean > best_eval:
                        best_eval = last_eval.mean
                        agent.save(run_dir / BEST_CHECKPOINT_NAME)
                    if config.stop_at_return is not None and last_eval.mean >= config.stop_at_return:
                        solved_at = step
                        break
        finally:
            bar.update(step, recent_returns, force=True)
            bar.close()
            if eval_env is not None:
                eval_env.close()
    elapsed = time.perf_counter() - started
    return {
        "steps": step,
        "episodes": episodes,
        "seconds": elapsed,
        "steps_per_second": step / max(elapsed, 1e-9),
        "recent_mean_return": float(np.mean(recent_returns)) if recent_returns else float("nan"),
        "best_eval_return": None if best_eval == -np.inf else float(best_eval),
        "solved_at": solved_at,  # the step whose evaluation reached stop_at_return, if any
    }
