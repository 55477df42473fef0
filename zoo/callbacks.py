"""Training callbacks, like SB3's: small objects a loop calls at each step, episode end and
evaluation, any of which may stop training by returning True.

    class StopWhenLong(Callback):
        def on_episode_end(self, step, episode):
            return episode.length >= 500         # True: stop training

    train("dqn", "CartPole-v1", callbacks=[StopWhenLong()])

The zoo's own logging is built from them (progress bar, progress.csv, evaluations.csv,
TensorBoard, best checkpoint, early stop), so a user's callback sees what they see.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.contracts import Agent, Metrics, RunSummary
from zoo.errors import ZooError
from zoo.runs import BEST_CHECKPOINT_NAME, PROGRESS_NAME, CsvLog

if TYPE_CHECKING:
    from rich.progress import Progress

EVALUATIONS_NAME = "evaluations.csv"
TENSORBOARD_DIR_NAME = "tensorboard"


@dataclass(frozen=True)
class Episode:
    """A finished episode of the training env."""

    number: int  # 1, 2, ... in this run
    episode_return: float
    length: int
    metrics: Metrics  # what the last update returned ({} before learning starts)
    recent_returns: tuple[float, ...]  # the last 100 returns, this one included
    seconds: float  # since training started
    steps_per_second: float


@dataclass(frozen=True)
class Evaluation:
    """A periodic evaluation of the deterministic policy on the evaluation env."""

    mean_return: float
    std_return: float
    mean_length: float
    returns: tuple[float, ...]
    seconds: float  # since training started


class Callback:
    """Every hook does nothing by default; return True from one to stop training."""

    def on_training_start(self, agent: Agent, start_step: int, total_steps: int) -> None:
        pass

    def on_step(self, step: int) -> bool:
        """After every env step (a vector step for on-policy loops). Called only when overridden."""
        return False

    def on_episode_end(self, step: int, episode: Episode) -> bool:
        return False

    def on_evaluation(self, step: int, evaluation: Evaluation) -> bool:
        return False

    def on_training_end(self, step: int) -> None:
        pass

    def summary(self) -> RunSummary:
        """What it adds to the run's summary (e.g. the best evaluation)."""
        return {}


def overrides_on_step(callback: Callback) -> bool:
    return type(callback).on_step is not Callback.on_step


class ProgressBar(Callback):
    """A Rich bar updated a few times a second at most, so it costs nothing per step."""

    def __init__(self, description: str):
        self.description = description
        self.progress: Progress | None = None

    def on_training_start(self, agent: Agent, start_step: int, total_steps: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[speed]} steps/s"), TextColumn("return {task.fields[recent]}"),
            TimeRemainingColumn(), transient=False,
        )
        self.task = self.progress.add_task(self.description, total=total_steps, speed="-", recent="-")
        self.progress.start()
        self.started = time.perf_counter()
        self.last = 0.0
        self.first_step = start_step  # a resumed run counts its speed from where it started
        self.recent = "-"

    def _show(self, step: int, force: bool = False) -> None:
        now = time.perf_counter()
        if self.progress is None or (not force and now - self.last < 0.25):
            return
        self.last = now
        speed = f"{(step - self.first_step) / max(now - self.started, 1e-9):.0f}"
        self.progress.update(self.task, completed=step, speed=speed, recent=self.recent)

    def on_episode_end(self, step: int, episode: Episode) -> bool:
        self.recent = f"{np.mean(episode.recent_returns):.1f}"
        self._show(step)
        return False

    def on_training_end(self, step: int) -> None:
        self._show(step, force=True)
        if self.progress is not None:
            self.progress.stop()


class EpisodeLines(Callback):
    """One line on stdout every `every` training episodes (RL Zoo's --log-interval; SB3 prints a
    table there), flushed at once, so that a log collector or `tail -f` of a run's output sees
    it as it goes; above the progress bar when there is one (Rich moves prints there)."""

    def __init__(self, every: int):
        self.every = every

    def on_episode_end(self, step: int, episode: Episode) -> bool:
        if episode.number % self.every == 0:
            recent = episode.recent_returns
            print(f"step {step}: episode {episode.number}, mean return {np.mean(recent):.2f} over the last "
                  f"{len(recent)}, {episode.steps_per_second:.0f} steps/s, {episode.seconds:.1f} s", flush=True)
        return False


class EpisodeLog(Callback):
    """progress.csv: one row per training episode, flushed as it goes."""

    def __init__(self, run_dir: Path):
        self.log = CsvLog(run_dir / PROGRESS_NAME, ["step", "episode", "return", "length", "loss", "time"])

    def on_episode_end(self, step: int, episode: Episode) -> bool:
        self.log.write(step=step, episode=episode.number, **{"return": episode.episode_return},
                       length=episode.length, loss=episode.metrics.get("loss", ""), time=round(episode.seconds, 3))
        return False

    def on_training_end(self, step: int) -> None:
        self.log.close()


class EvaluationLog(Callback):
    """evaluations.csv: one row per evaluation."""

    def __init__(self, run_dir: Path):
        self.log = CsvLog(run_dir / EVALUATIONS_NAME, ["step", "mean_return", "std_return", "mean_length", "time"])

    def on_evaluation(self, step: int, evaluation: Evaluation) -> bool:
        self.log.write(step=step, mean_return=evaluation.mean_return, std_return=evaluation.std_return,
                       mean_length=evaluation.mean_length, time=round(evaluation.seconds, 3))
        return False

    def on_training_end(self, step: int) -> None:
        self.log.close()


class BestCheckpoint(Callback):
    """Keeps the agent of the best evaluation so far as best_model.zip, the run's logs synced
    to disk with it (`logs`), so that after any crash the logs reach at least the checkpoint."""

    def __init__(self, path: Path, logs: Sequence[CsvLog] = ()):
        self.path = path
        self.logs = list(logs)
        self.best = -np.inf
        self.agent: Agent | None = None

    def on_training_start(self, agent: Agent, start_step: int, total_steps: int) -> None:
        self.agent = agent

    def on_evaluation(self, step: int, evaluation: Evaluation) -> bool:
        if evaluation.mean_return > self.best and self.agent is not None:
            self.best = evaluation.mean_return
            for log in self.logs:
                log.sync()
            self.agent.save(self.path)
        return False

    def summary(self) -> RunSummary:
        return {"best_eval_return": None if self.best == -np.inf else float(self.best)}


class Streak:
    """Whether `length` evaluations in a row have reached `threshold` (a stop_streak): the
    count starts again at every evaluation below it. Shared by StopAtReturn and zoo tune's
    SolveClock, so a study's clock stops where a user's run would."""

    def __init__(self, threshold: float, length: int = 1):
        self.threshold, self.length = threshold, length
        self.in_a_row = 0

    def reached(self, evaluation: Evaluation) -> bool:
        self.in_a_row = self.in_a_row + 1 if evaluation.mean_return >= self.threshold else 0
        return self.in_a_row >= self.length


class StopAtReturn(Callback):
    """Stops once `streak` evaluations in a row have a mean return >= `threshold` (with a
    streak of 1, SB3's StopTrainingOnRewardThreshold)."""

    def __init__(self, threshold: float, streak: int = 1):
        self.streak = Streak(threshold, streak)
        self.solved_at: int | None = None

    def on_evaluation(self, step: int, evaluation: Evaluation) -> bool:
        if self.streak.reached(evaluation):
            self.solved_at = step
            return True
        return False

    def summary(self) -> RunSummary:
        return {"solved_at": self.solved_at}  # the step whose evaluation completed the streak


def require_tensorboard() -> Any:
    """torch's SummaryWriter class, or the error that says what to install."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch ships the writer, the `tensorboard` package the event format
        raise ZooError("TensorBoard logging needs the tensorboard package: pip install 'zoo[tensorboard]' "
                       "(or drop --tensorboard).") from None
    return SummaryWriter


class TensorBoardLog(Callback):
    """Scalars under SB3's names for `tensorboard --logdir runs`, one event file per run in
    RUN_DIR/tensorboard; written at episode ends and evaluations only."""

    def __init__(self, log_dir: Path):
        writer = require_tensorboard()
        try:
            self.writer = writer(log_dir=str(log_dir))
        except OSError as error:  # a file on the way, no permission, a full disk
            raise ZooError(f"Cannot write TensorBoard logs to {log_dir}: {error.strerror or error}.") from None

    def on_episode_end(self, step: int, episode: Episode) -> bool:
        self.writer.add_scalar("rollout/episode_return", episode.episode_return, step)
        self.writer.add_scalar("rollout/ep_rew_mean", float(np.mean(episode.recent_returns)), step)
        self.writer.add_scalar("rollout/ep_len", episode.length, step)
        self.writer.add_scalar("time/fps", episode.steps_per_second, step)
        for name, value in episode.metrics.items():  # the last update's losses, alpha, entropy...
            self.writer.add_scalar(f"train/{name}", float(value), step)
        return False

    def on_evaluation(self, step: int, evaluation: Evaluation) -> bool:
        self.writer.add_scalar("eval/mean_reward", evaluation.mean_return, step)
        self.writer.add_scalar("eval/mean_ep_length", evaluation.mean_length, step)
        return False

    def on_training_end(self, step: int) -> None:
        self.writer.close()


def run_callbacks(run_dir: Path, description: str, *, stop_at_return: float | None, progress: bool,
                  tensorboard: bool | Path, stop_streak: int = 1) -> list[Callback]:
    """The zoo's own callbacks for a deep-RL run, in the order they are called. `tensorboard`:
    True for RUN_DIR/tensorboard, or a folder for FOLDER/<env>/<algo>_<n> (RL Zoo's
    --tensorboard-log, SB3's layout; the run folder is <algo>/<env>_<n>)."""
    callbacks: list[Callback] = [ProgressBar(description)] if progress else []
    episodes, evaluations = EpisodeLog(run_dir), EvaluationLog(run_dir)
    callbacks += [episodes, evaluations]
    if isinstance(tensorboard, Path):
        env_name, _, number = run_dir.name.rpartition("_")
        callbacks.append(TensorBoardLog(tensorboard / env_name / f"{run_dir.parent.name}_{number}"))
    elif tensorboard:
        callbacks.append(TensorBoardLog(run_dir / TENSORBOARD_DIR_NAME))
    callbacks.append(BestCheckpoint(run_dir / BEST_CHECKPOINT_NAME, logs=[episodes.log, evaluations.log]))
    if stop_at_return is not None:
        callbacks.append(StopAtReturn(stop_at_return, stop_streak))
    return callbacks

