"""RL Zoo's linear schedule, `lin_<start>`: a value that falls from start to 0 over the run's
budget (n_timesteps), as a hyperparameter may be written in RL Zoo's YAML (PPO's learning rate
and clip range, SAC's learning rate).

A resumed run whose budget differs goes on from the value the schedule had reached and falls
to 0 at the new end: the agent keeps an anchor, (step, remaining fraction at that step), in its
checkpoint, (0, 1.0) for a fresh run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

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


def scheduled(schedule: tuple[str, float], anchor: tuple[int, float], step: int, budget: int) -> float:
    """A parsed schedule's value at env step `step`."""
    kind, start = schedule
    return start * remaining_fraction(anchor, step, budget) if kind == "linear" else start


def anchor_after_resume(anchor: tuple[int, float], step: int, metadata: Mapping[str, Any],
                        budget: int) -> tuple[int, float]:
    """The anchor a resumed run goes on from, at env step `step`: unchanged if the budget is the
    checkpoint's (`metadata`'s config), else where the schedule stood under the saved budget."""
    saved_budget = metadata.get("config", {}).get("n_timesteps")
    if isinstance(saved_budget, int) and saved_budget != budget:
        return step, remaining_fraction(anchor, step, saved_budget)
    return anchor


def anchor_from_arrays(arrays: Mapping[str, Any], current: tuple[int, float]) -> tuple[int, float]:
    """A checkpoint's `schedule_anchor` array as an anchor (a missing or malformed one leaves
    `current`; the fraction is clipped to [0, 1])."""
    anchor = np.asarray(arrays.get("schedule_anchor", [current[0], current[1]]), dtype=np.float64).reshape(-1)
    if anchor.shape != (2,) or not np.isfinite(anchor).all():
        return current
    return int(anchor[0]), float(np.clip(anchor[1], 0.0, 1.0))
