"""RL Zoo's linear schedule, `lin_<start>`: a value that falls from start to 0 over the run's
budget (n_timesteps), as a hyperparameter may be written in RL Zoo's YAML (every deep-RL
algo's learning rate but REINFORCE's, PPO's clip range).

A resumed run whose budget differs goes on from the value the schedule had reached and falls
to 0 at the new end: the agent keeps an anchor, (step, remaining fraction at that step), in its
checkpoint, (0, 1.0) for a fresh run. `ScheduleClock` holds both for an agent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # only a type here: the schedules' arithmetic needs no torch
    from zoo.optim import ClippedAdam, ClippedRMSprop

Schedule = float | str  # a constant, or 'lin_<start>' (RL Zoo's linear schedule)


def parse_schedule(value: Schedule, name: str) -> tuple[str, float]:
    """('constant' | 'linear', start) of a schedule, or ValueError naming `name`."""
    kind, text = "constant", value
    if isinstance(value, str):
        kind, _, text = ("linear", "", value[4:]) if value.startswith("lin_") else ("constant", "", value)
    try:
        start = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or 'lin_<number>' (a linear schedule), got {value!r}") from None
    if not math.isfinite(start) or start <= 0:
        raise ValueError(f"{name} must start above 0 and be finite, got {value!r}")
    return kind, start


def remaining_fraction(anchor: tuple[int, float], step: int, budget: int) -> float:
    """Of a linear schedule that had `anchor` = (step0, remaining0) and reaches 0 at `budget`."""
    step0, remaining0 = anchor
    span = budget - step0
    return remaining0 * max(0.0, (budget - step) / span) if span > 0 else 0.0


def anchor_after_resume(anchor: tuple[int, float], step: int, metadata: Mapping[str, Any],
                        budget: int) -> tuple[int, float]:
    """The anchor a resumed run goes on from, at env step `step`: unchanged if the budget is the
    checkpoint's (`metadata`'s config), else where the schedule stood under the saved budget."""
    saved_budget = metadata.get("config", {}).get("n_timesteps")
    if isinstance(saved_budget, int) and saved_budget != budget:
        return step, remaining_fraction(anchor, step, saved_budget)
    return anchor


def anchor_from_arrays(arrays: Mapping[str, Any], current: tuple[int, float],
                       name: str = "schedule_anchor") -> tuple[int, float]:
    """A checkpoint's anchor array `name` (a missing or malformed one leaves `current`; the
    fraction, or rate, is clipped to [0, 1])."""
    anchor = np.asarray(arrays.get(name, [current[0], current[1]]), dtype=np.float64).reshape(-1)
    if anchor.shape != (2,) or not np.isfinite(anchor).all():
        return current
    return int(anchor[0]), float(np.clip(anchor[1], 0.0, 1.0))


class ScheduleClock:
    """What an agent's linear schedules read: the env steps it has trained on (`step`, set by
    its training loop), its budget, and the anchor the schedules fall from. The anchor lives in
    the checkpoint (`state_arrays`), so a resumed run goes on from where its schedules stood."""

    def __init__(self, budget: int):
        self.budget = budget
        self.step = 0
        self.anchor: tuple[int, float] = (0, 1.0)

    def remaining(self) -> float:
        """The fraction left of a linear schedule: SB3's progress_remaining."""
        return remaining_fraction(self.anchor, self.step, self.budget)

    def value(self, schedule: tuple[str, float]) -> float:
        kind, start = schedule
        return start * self.remaining() if kind == "linear" else start

    def resume(self, step: int, metadata: Mapping[str, Any]) -> None:
        """After a checkpoint's restore, at its env step: the budget may have changed."""
        self.step = step
        self.anchor = anchor_after_resume(self.anchor, step, metadata, self.budget)

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {"schedule_anchor": np.array(self.anchor, dtype=np.float64)}

    def load_state_arrays(self, arrays: Mapping[str, Any]) -> None:
        self.anchor = anchor_from_arrays(arrays, self.anchor)


def apply_learning_rate_schedule(schedule: tuple[str, float], clock: ScheduleClock,
                                 optimizers: Iterable[ClippedAdam | ClippedRMSprop]) -> dict[str, float]:
    """Before an update: a linear schedule's step size at the clock's step, set on every
    optimizer and returned as the metrics to add to the update's ({"learning_rate": value}: SB3
    logs train/learning_rate); a constant one is left as the optimizers were built and adds
    nothing, so a constant's metrics stay as they were."""
    if schedule[0] != "linear":
        return {}
    learning_rate = clock.value(schedule)
    for optimizer in optimizers:
        optimizer.set_learning_rate(learning_rate)
    return {"learning_rate": learning_rate}
