"""What a trial's value measures (`zoo tune --objective`).

  return                 the mean return of the final policies (maximised; the default)
  wall-to-return:X       seconds until an evaluation averages >= X (minimised)
  steps-to-return:X      env steps until then (minimised)

A time objective measures what a user waits for: each seed's clock starts before its agent and
envs are built and stops at the evaluation that reaches X, which also ends that training. The
seed counts as solved only if its final policy then also averages >= X over the trial's
`--eval-episodes` fresh episodes (a lucky evaluation does not solve a task). An unsolved seed
counts as everything it used (its whole budget, or up to where it was pruned) plus a penalty:
`--penalty`, by default 600 s for wall time (far above any trial of a 30-minute study, so a
trial that solves every seed always beats one that does not) and the budget itself for steps.
A trial's value is the mean over its `--trial-seeds` seeds.

Pruning follows the objective: at each evaluation a seed that is not yet solved reports what
the trial would be worth if it stopped unsolved there (the finished seeds' values plus this
seed's elapsed cost plus the penalty, over K). Reports are numbered seed by seed
(`seed * REPORT_STRIDE + evaluation`), so the i-th evaluation of seed k of two trials is
compared, and a slow trial can be pruned in any seed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from zoo.callbacks import Callback, Episode, Evaluation, Streak
from zoo.errors import ZooError, brief

if TYPE_CHECKING:
    import optuna

KINDS = ("return", "wall-to-return", "steps-to-return")
DEFAULT_WALL_PENALTY = 600.0  # seconds
REPORT_STRIDE = 100_000  # more evaluations than any seed makes


@dataclass(frozen=True)
class Goal:
    """A parsed --objective."""

    kind: str = "return"
    target: float | None = None  # the return to reach, for the time objectives
    penalty: float | None = None  # added to an unsolved seed's cost; None: the default

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        return "maximize" if self.kind == "return" else "minimize"

    @property
    def label(self) -> str:
        """As the user wrote it: also stored with the study, which only this objective may join."""
        return self.kind if self.target is None else f"{self.kind}:{self.target:g}"

    @property
    def unit(self) -> str:
        return {"return": "mean return", "wall-to-return": "seconds to solve", "steps-to-return": "steps to solve"}[
            self.kind]

    def penalty_for(self, budget_steps: int) -> float:
        if self.penalty is not None:
            return self.penalty
        return DEFAULT_WALL_PENALTY if self.kind == "wall-to-return" else float(budget_steps)


def parse_objective(text: str, penalty: float | None = None) -> Goal:
    """`return`, `wall-to-return:-170`, `steps-to-return:475`; one error naming --objective."""
    kind, colon, value = str(text).strip().partition(":")
    if kind not in KINDS:
        raise ZooError(f"--objective {brief(text)}: use return, wall-to-return:RETURN or steps-to-return:RETURN.")
    if penalty is not None and not (math.isfinite(penalty) and penalty >= 0):
        raise ZooError(f"--penalty must be a finite number >= 0, got {penalty!r}.")
    if kind == "return":
        if colon:
            raise ZooError(f"--objective {brief(text)}: 'return' takes no threshold (maximises the mean return).")
        if penalty is not None:
            raise ZooError("--penalty is for the time objectives (wall-to-return, steps-to-return).")
        return Goal()
    try:
        target = float(value)
    except ValueError:
        target = math.nan
    if not colon or not math.isfinite(target):
        raise ZooError(f"--objective {brief(text)}: {kind} needs the return to reach, e.g. {kind}:-170.")
    return Goal(kind, target, penalty)


class TrialWatch(Callback):
    """What every trial's callback does: stop a run whose returns or losses turn non-finite
    (`diverged` says why), and remember whether the pruner stopped it."""

    def __init__(self) -> None:
        self.pruned = False
        self.diverged: str | None = None

    def on_episode_end(self, step: int, episode: Episode) -> bool:
        bad = [name for name, value in episode.metrics.items() if not math.isfinite(float(value))]
        if not math.isfinite(episode.episode_return) or bad:
            self.diverged = f"non-finite {'return' if not bad else ', '.join(bad)} at step {step}"
        return self.diverged is not None

    def evaluation_diverged(self, step: int, evaluation: Evaluation) -> bool:
        if not math.isfinite(evaluation.mean_return):
            self.diverged = f"non-finite evaluation return at step {step}"
        return self.diverged is not None


class SolveClock(TrialWatch):
    """One seed of a time objective: stops its training once `streak` evaluations in a row (the
    entry's stop_streak, as a user's run would stop) average >= the target and records when
    (seconds since `started`, env steps); reports to the pruner while unsolved; stops a
    diverged run."""

    def __init__(self, goal: Goal, trial: optuna.Trial, *, seed_index: int, finished: list[float],
                 trial_seeds: int, budget_steps: int, started: float, streak: int = 1):
        super().__init__()
        self.goal, self.trial = goal, trial
        self.seed_index, self.finished, self.trial_seeds = seed_index, finished, trial_seeds
        self.budget_steps, self.started = budget_steps, started
        assert goal.target is not None
        self.streak = Streak(goal.target, streak)
        self.solved_at: float | None = None  # seconds or steps, in the objective's unit
        self.evaluations = 0

    def cost(self, step: int) -> float:
        return time.perf_counter() - self.started if self.goal.kind == "wall-to-return" else float(step)

    def unsolved_value(self, cost: float) -> float:
        return cost + self.goal.penalty_for(self.budget_steps)

    def on_evaluation(self, step: int, evaluation: Evaluation) -> bool:
        if self.evaluation_diverged(step, evaluation):
            return True
        cost = self.cost(step)
        if self.streak.reached(evaluation):
            self.solved_at = cost
            return True  # solved: the clock stops here, and so does the training
        self.evaluations += 1
        if_stopped_now = (sum(self.finished) + self.unsolved_value(cost)) / self.trial_seeds
        self.trial.report(if_stopped_now, self.seed_index * REPORT_STRIDE + self.evaluations)
        self.pruned = self.trial.should_prune()
        return self.pruned
