"""The one exception type users see: a message that says what went wrong and what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZooError(Exception):
    """A mistake in the input (unknown algo or env, bad hyperparameter, bad checkpoint...).

    The CLI prints its message alone, without a traceback.
    """


def did_you_mean(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """' Did you mean: a, b?' for the closest candidates, or '' when none is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""
