"""The one exception type users see: a message that says what went wrong and what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZooError(Exception):
    """A mistake in the input (unknown algo or env, bad hyperparameter, bad checkpoint...).

    The CLI prints its message alone, without a traceback.
    """


class NonFiniteObservation(ZooError):
    """An agent was asked to act on an observation holding NaN or inf (zoo.agent.BaseAgent):
    the training and evaluation loops turn it into a message naming the env."""


def did_you_mean(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """' Did you mean: a, b?' for the closest candidates, or '' when none is close.

    Up to `n`, and only those nearly as close as the best: 'lenett' suggests lenet alone, not
    alexnet and resnet too, while 'CartPole' still offers both of its versions.
    """
    scored = [(difflib.SequenceMatcher(None, word, candidate).ratio(), candidate) for candidate in candidates]
    close = sorted((item for item in scored if item[0] >= 0.6), key=lambda item: -item[0])
    matches = [candidate for score, candidate in close if score >= close[0][0] - 0.1][:n] if close else []
    return f" Did you mean: {', '.join(matches)}?" if matches else ""


def brief(value: object, limit: int = 80) -> str:
    """A value's repr for an error message, cut to `limit` characters: a user's value is never
    printed whole (it may be a megabyte, or an alias bomb of a YAML file)."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = limit
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = shortener.maxset = 8
    shortener.maxlevel = 3
    text = shortener.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def brief_text(text: str, limit: int = 80) -> str:
    """Text (a name, a path, another error's message) cut to `limit` characters, on one line."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
