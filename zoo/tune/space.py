"""Search spaces: YAML, one file per algorithm (hyperparams/search/<algo>.yml), validated
against the algorithm's config class before any trial runs.

    learning_rate: {log_uniform: [1.0e-5, 1.0e-2]}    # a float, uniform in log space
    tau: {uniform: [0.001, 0.05]}                      # a float
    train_freq: {int: [1, 16]}                         # an int, bounds included
    net_arch: {choice: [[64, 64], [256, 256]]}         # one of these values (lists too)
    exploration_final_eps: 0.05                        # fixed: set, not searched

`n_timesteps` is in no shipped space: a study compares configs at equal budget.
"""

from __future__ import annotations

import json
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.config import SEARCH_SPACES, build_config, coerce_value, type_name
from zoo.errors import ZooError, did_you_mean
from zoo.files import load_yaml, read_text

if TYPE_CHECKING:
    import optuna

KINDS = ("log_uniform", "uniform", "int", "choice")


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: str  # one of KINDS
    low: float = 0.0
    high: float = 0.0
    choices: tuple[Any, ...] = ()

    def encoded_choices(self) -> list[str]:
        """Optuna's categorical values must be scalars: lists travel as their JSON text."""
        return [json.dumps(choice) for choice in self.choices]

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.kind == "log_uniform":
            return trial.suggest_float(self.name, self.low, self.high, log=True)
        if self.kind == "uniform":
            return trial.suggest_float(self.name, self.low, self.high)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        return json.loads(trial.suggest_categorical(self.name, self.encoded_choices()))

    def as_param(self, value: Any) -> Any | None:
        """`value` as this dimension's Optuna param (for enqueuing a known entry), or None when
        the space does not hold it."""
        if self.kind == "choice":
            encoded = json.dumps(value)
            return encoded if encoded in self.encoded_choices() else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            return None
        return int(value) if self.kind == "int" else float(value)


@dataclass(frozen=True)
class SearchSpace:
    dimensions: tuple[Dimension, ...]
    fixed: dict[str, Any]
    source: str

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        return {**self.fixed, **{d.name: d.suggest(trial) for d in self.dimensions}}

    def params_of(self, values: dict[str, Any]) -> dict[str, Any]:
        """The Optuna params that reproduce `values` (a shipped entry), where the space holds them."""
        params = {}
        for dimension in self.dimensions:
            if dimension.name in values:
                param = dimension.as_param(values[dimension.name])
                if param is not None:
                    params[dimension.name] = param
        return params


def search_file(algo: str, search: str | Path | None = None) -> Path:
    from zoo.paths import hyperparams_dir

    path = Path(search) if search is not None else hyperparams_dir() / SEARCH_SPACES / f"{algo}.yml"
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise ZooError(f"No search space for {algo}: {path} {what}. Write one (see zoo/tune/space.py) "
                       "and pass it with --search FILE.")
    return path


def load_space(config_class: type, base_values: dict[str, Any], path: Path) -> SearchSpace:
    """Read and check a space: every key a field of `config_class`, every bound and choice a
    value of the field's type that the config accepts on top of `base_values` (the entry a
    trial starts from) and the fixed values, so that no trial can fail on its own parameters'
    types or ranges. A value refused only beside the entry's value of another searched field
    (PPO's n_steps 32 under a single-env entry's batch_size 64) is accepted when some value
    of that field's range takes it: such combinations are left to the trials (recorded FAIL)."""
    data = load_yaml(read_text(path, "a YAML search space"), str(path))
    if not isinstance(data, dict) or not data:
        raise ZooError(f"{path} must map hyperparameter names to ranges, choices or fixed values.")
    hints = typing.get_type_hints(config_class)
    dimensions, fixed = [], {}
    to_check: list[tuple[str, Any, str]] = []  # (name, value, where): checked once every field is read
    for name, spec in data.items():
        where = f"{path} [{name}]"
        if name not in hints:
            raise ZooError(f"{where}: unknown hyperparameter '{name}'.{did_you_mean(str(name), hints)} "
                           f"Valid keys: {', '.join(hints)}.")
        if not (isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in KINDS):
            fixed[name] = _coerced(name, spec, hints[name], where)
            to_check.append((name, fixed[name], where))
            continue
        kind, bounds = next(iter(spec.items()))
        if kind == "choice":
            if not isinstance(bounds, list) or not bounds:
                raise ZooError(f"{where}: choice needs a non-empty list of values, got {bounds!r}.")
            choices = tuple(_coerced(name, c, hints[name], where) for c in bounds)
            to_check += [(name, choice, where) for choice in choices]
            dimensions.append(Dimension(name, kind, choices=choices))
            continue
        if (not isinstance(bounds, list) or len(bounds) != 2
                or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)):
            raise ZooError(f"{where}: {kind} needs [low, high], got {bounds!r}.")
        low, high = float(bounds[0]), float(bounds[1])
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ZooError(f"{where}: needs finite low < high, got [{bounds[0]}, {bounds[1]}].")
        if kind == "log_uniform" and low <= 0:
            raise ZooError(f"{where}: log_uniform needs low > 0, got {bounds[0]}.")
        if kind == "int" and not (low.is_integer() and high.is_integer()):
            raise ZooError(f"{where}: int needs whole-number bounds, got {bounds!r}.")
        to_check += [(name, _coerced(name, bound, hints[name], where), where)
                     for bound in ((int(low), int(high)) if kind == "int" else (low, high))]
        dimensions.append(Dimension(name, kind, low, high))
    base = {**base_values, **fixed}
    # each searched field's own extremes: what another field's value may be checked beside
    alternatives = [(d.name, d.choices if d.kind == "choice" else (int(d.low), int(d.high)) if d.kind == "int"
                     else (d.low, d.high)) for d in dimensions]
    for name, value, where in to_check:
        _check_value(config_class, base, name, value, where, alternatives)
    return SearchSpace(tuple(dimensions), fixed, str(path))


def _coerced(name: str, value: Any, annotation: Any, where: str) -> Any:
    try:
        return coerce_value(value, annotation)
    except TypeError:
        raise ZooError(f"{where}: '{name}' must be {type_name(annotation)}, got {value!r}.") from None


def _check_value(config_class: type, base: dict[str, Any], name: str, value: Any, where: str,
                 alternatives: list[tuple[str, Any]]) -> None:
    """`value` of `name` in the config's ranges (__post_init__), beside the base or, failing
    that, beside one other searched field's extreme (the first error is the one reported)."""
    try:
        build_config(config_class, {**base, name: value}, source=where)
    except ZooError:
        for other, candidates in alternatives:
            for candidate in candidates if other != name else ():
                try:
                    build_config(config_class, {**base, other: candidate, name: value}, source=where)
                    return
                except ZooError:
                    continue
        raise
