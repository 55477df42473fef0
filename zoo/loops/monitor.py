"""What every deep-RL training loop does around the learning itself.

`TrainingConfig` holds the fields every such loop reads; `TrainingMonitor` keeps the Rich
progress bar, the episode log (progress.csv), the periodic evaluation on a separate env
(evaluations.csv), the best checkpoint (best_model.zip) and the early stop
(`stop_at_return`, like SB3's StopTrainingOnRewardThreshold) and, when asked, the same
numbers as TensorBoard scalars under SB3's names (rollout/ep_rew_mean, eval/mean_reward, ...).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.environments import make_env
from zoo.errors import ZooError
from zoo.evaluation import evaluate_agent
from zoo.runs import PROGRESS_NAME, CsvLog

EVALUATIONS_NAME = "evaluations.csv"
BEST_CHECKPOINT_NAME = "best_model.zip"
TENSORBOARD_DIR_NAME = "tensorboard"


@dataclass
class TrainingConfig:
    n_timesteps: int = 100_000  # env steps of training (summed over parallel envs)
    gamma: float = 0.99  # discount factor
    eval_freq: int = 10_000  # env steps between evaluations (0: none)
    n_eval_episodes: int = 10  # episodes per evaluation
    # Stop once an evaluation's mean return reaches this; the policy that reached it is the
    # final one. None: always use the whole budget.
    stop_at_return: float | None = None
    n_threads: int = 1  # torch threads; one is fastest for small networks on this CPU

    def __post_init__(self):
        for name in ("n_timesteps", "n_eval_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("eval_freq", "n_threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.stop_at_return is not None and self.eval_freq == 0:
            raise ValueError("stop_at_return needs evaluations: set eval_freq > 0")


class _ProgressBar:
    """A Rich bar updated a few times a second at most, so it costs nothing per step."""

    def __init__(self, enabled: bool, total: int, description: str, first_step: int = 0):
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
        self.first_step = first_step  # a resumed run counts its speed from where it started

    def update(self, step: int, recent_returns: deque, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.25:
            return
        self.last = now
        recent = f"{np.mean(recent_returns):.1f}" if recent_returns else "-"
        speed = f"{(step - self.first_step) / max(now - self.started, 1e-9):.0f}"
        self.progress.update(self.task, completed=step, speed=speed, recent=recent)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def require_tensorboard():
    """torch's SummaryWriter class, or the error that says what to install."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch ships the writer, the `tensorboard` package the event format
        raise ZooError("TensorBoard logging needs the tensorboard package: pip install 'zoo[tensorboard]' "
                       "(or drop --tensorboard).") from None
    return SummaryWriter


class _TensorBoardLog:
    """Scalars for `tensorboard --logdir runs`; one event file per run, in RUN_DIR/tensorboard.
    Written at episode ends and evaluations only, so it costs nothing per step."""

    def __init__(self, log_dir: Path):
        self.writer = require_tensorboard()(log_dir=str(log_dir))

    def episode(self, step: int, episode_return: float, length: int, recent_returns: deque,
                metrics: dict[str, Any], steps_per_second: float) -> None:
        self.writer.add_scalar("rollout/episode_return", episode_return, step)
        self.writer.add_scalar("rollout/ep_rew_mean", float(np.mean(recent_returns)), step)
        self.writer.add_scalar("rollout/ep_len", length, step)
        self.writer.add_scalar("time/fps", steps_per_second, step)
        for name, value in metrics.items():  # the last update's losses, alpha, entropy...
            self.writer.add_scalar(f"train/{name}", float(value), step)

    def evaluation(self, step: int, mean_return: float, mean_length: float) -> None:
        self.writer.add_scalar("eval/mean_reward", mean_return, step)
        self.writer.add_scalar("eval/mean_ep_length", mean_length, step)

    def close(self) -> None:
        self.writer.close()


class TrainingMonitor:
    def __init__(self, agent: Any, config: TrainingConfig, run_dir: Path, seed: int | None, progress: bool,
                 tensorboard: bool = False):
        self.agent, self.config, self.run_dir = agent, config, run_dir
        self.eval_env = make_env(agent.env_id, agent.env_kwargs, config=agent.config) if config.eval_freq > 0 else None
        if self.eval_env is not None:
            self.eval_env.reset(seed=None if seed is None else seed + 1_000)  # apart from training's stream
        self.next_evaluation = config.eval_freq
        self.episode_log = CsvLog(run_dir / PROGRESS_NAME, ["step", "episode", "return", "length", "loss", "time"])
        self.eval_log = CsvLog(run_dir / EVALUATIONS_NAME, ["step", "mean_return", "std_return", "mean_length", "time"])
        self.start_step = int(getattr(agent, "num_timesteps", 0))  # > 0 when resuming
        self.bar = _ProgressBar(progress, config.n_timesteps, f"{agent.algo} {agent.env_id}", self.start_step)
        self.recent_returns: deque = deque(maxlen=100)
        self.episodes = 0
        self.best_eval = -np.inf
        self.solved_at: int | None = None
        self.started = time.perf_counter()
        self.tensorboard = _TensorBoardLog(run_dir / TENSORBOARD_DIR_NAME) if tensorboard else None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def episode_done(self, step: int, episode_return: float, length: int,
                     metrics: dict[str, Any] | None = None) -> None:
        """`metrics`: what the last update returned ({} before learning starts)."""
        metrics = metrics or {}
        self.episodes += 1
        self.recent_returns.append(episode_return)
        elapsed = self.elapsed()
        self.episode_log.write(step=step, episode=self.episodes, **{"return": episode_return}, length=length,
                               loss=metrics.get("loss", ""), time=round(elapsed, 3))
        self.bar.update(step, self.recent_returns)
        if self.tensorboard is not None:
            self.tensorboard.episode(step, episode_return, length, self.recent_returns, metrics,
                                     (step - self.start_step) / max(elapsed, 1e-9))

    def evaluate_if_due(self, step: int) -> bool:
        """Evaluate when `step` has passed the next multiple of eval_freq; True means solved: stop."""
        if self.eval_env is None or step < self.next_evaluation:
            return False
        while self.next_evaluation <= step:
            self.next_evaluation += self.config.eval_freq
        evaluation = evaluate_agent(self.agent, self.eval_env, self.config.n_eval_episodes)
        mean_length = float(np.mean(evaluation.lengths))
        self.eval_log.write(step=step, mean_return=evaluation.mean, std_return=evaluation.std,
                            mean_length=mean_length, time=round(self.elapsed(), 3))
        if self.tensorboard is not None:
            self.tensorboard.evaluation(step, evaluation.mean, mean_length)
        if evaluation.mean > self.best_eval:
            self.best_eval = evaluation.mean
            self.agent.save(self.run_dir / BEST_CHECKPOINT_NAME)
        if self.config.stop_at_return is not None and evaluation.mean >= self.config.stop_at_return:
            self.solved_at = step
            return True
        return False

    def close(self, step: int) -> dict[str, Any]:
        self.bar.update(step, self.recent_returns, force=True)
        self.bar.close()
        self.episode_log.close()
        self.eval_log.close()
        if self.tensorboard is not None:
            self.tensorboard.close()
        if self.eval_env is not None:
            self.eval_env.close()
        elapsed = self.elapsed()
        return {
            "steps": step,
            "episodes": self.episodes,
            "seconds": elapsed,
            "steps_per_second": (step - self.start_step) / max(elapsed, 1e-9),
            "recent_mean_return": float(np.mean(self.recent_returns)) if self.recent_returns else float("nan"),
            "best_eval_return": None if self.best_eval == -np.inf else float(self.best_eval),
            "solved_at": self.solved_at,  # the step whose evaluation reached stop_at_return, if any
        }
