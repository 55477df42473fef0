"""Typed hyperparameters: YAML -> the algorithm's config dataclass.

Resolution order, each layer overriding the one before (RL Zoo's, with aliases):
  1. the dataclass defaults,
  2. the `default:` entry of `hyperparams/<algo>.yml` (an alias reads its base's file),
  3. an alias's flags (zoo.registry: double_dqn sets `double: true`),
  4. the alias's section of that file: its `default:` entry,
  5. the file's entry named by the env id,
  6. the alias section's entry for the env id,
  7. `--hp key=value` overrides from the command line.

    # hyperparams/dqn.yml
    default: {...}
    CartPole-v1: {...}
    double_dqn:            # an alias section holds only what differs from dqn's entries
      CartPole-v1: {learning_rate: 0.0005}

An entry may also hold `env_kwargs:` (a mapping passed to `gym.make`) and `env_wrappers:`
(names from zoo.environments.WRAPPERS); every other key must be a field of the config
dataclass, with a value of its type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from zoo.errors import ZooError, did_you_mean

if TYPE_CHECKING:
    from zoo.registry import AlgoSpec

ENV_KWARGS_KEY = "env_kwargs"
ENV_WRAPPERS_KEY = "env_wrappers"


@dataclass
class ResolvedHyperparams:
    config: Any
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    env_wrappers: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # which files and entries were applied


# ---- type checking --------------------------------------------------------------------


def type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " | ".join(repr(choice) for choice in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(type_name(arg) for arg in typing.get_args(annotation))
        return f"{origin.__name__}[{args}]"
    return "None" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def coerce_value(value: Any, annotation: Any) -> Any:
    """Return `value` as `annotation`, or raise TypeError. Only lossless conversions."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            try:
                return coerce_value(value, option)
            except TypeError:
                continue
        raise TypeError
    if origin is Literal:
        if value in typing.get_args(annotation) and not isinstance(value, bool):
            return value
        raise TypeError
    if annotation is type(None):
        if value is None:
            return None
        raise TypeError
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise TypeError
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        # YAML reads 1e5 as a float (RL Zoo files write !!float 1e5); accept whole numbers.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise TypeError
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError
    if annotation is str:
        if isinstance(value, str):
            return value
        raise TypeError
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise TypeError
        (item_type, *rest) = typing.get_args(annotation) or (Any,)
        items = [coerce_value(item, item_type) for item in value]
        return items if origin is list else tuple(items)
    if origin is dict or annotation is dict:
        if isinstance(value, dict):
            return dict(value)
        raise TypeError
    raise TypeError(f"unsupported annotation {annotation!r}")


def build_config(config_class: type, values: dict[str, Any], *, source: str) -> Any:
    """Make `config_class(**values)`, refusing unknown keys and wrongly typed values."""
    if not isinstance(values, dict):
        raise ZooError(f"{source}: expected a mapping of hyperparameters, got {type(values).__name__}.")
    hints = typing.get_type_hints(config_class)
    fields = [f.name for f in dataclasses.fields(config_class)]
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ZooError(
                f"{source}: unknown hyperparameter '{key}'.{did_you_mean(str(key), fields)} "
                f"Valid keys: {', '.join(fields)}."
            )
        try:
            kwargs[key] = coerce_value(value, hints[key])
        except TypeError:
            raise ZooError(
                f"{source}: hyperparameter '{key}' must be {type_name(hints[key])}, got {value!r}."
            ) from None
    try:
        return config_class(**kwargs)
    except (ValueError, TypeError) as error:
        raise ZooError(f"{source}: {error}") from None


# ---- files and overrides ----------------------------------------------------------------


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """['lr=1e-3', 'net_arch=[64, 64]'] -> {'lr': 0.001, 'net_arch': [64, 64]} (YAML values)."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ZooError(f"--hp expects key=value, got '{pair}'.")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as error:
            raise ZooError(f"--hp {pair}: the value is not valid YAML ({error}).") from None
        # YAML 1.1 reads '1e-3' as a string; a user typing it means the number.
        if isinstance(value, str):
            try:
                value = float(value) if any(c in value for c in ".eE") else int(value)
            except ValueError:
                pass
        overrides[key.strip()] = value
    return overrides


def read_hyperparams_file(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ZooError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(entry, dict) for entry in data.values()):
        raise ZooError(f"{path} must map 'default', env ids and alias sections to mappings of hyperparameters.")
    return data


def env_entry_name(env_id: str) -> str:
    """'envs:CliffWalking4x12-v0' uses the entry of 'CliffWalking4x12-v0'."""
    return env_id.split(":", 1)[-1]


def hyperparams_file(algo: str, hyperparams: str | Path | None = None) -> Path:
    """The YAML file of `algo` (a base algorithm's name): the main set by default; a shipped set
    by name (`rl_zoo` -> hyperparams/rl_zoo/<algo>.yml); or a YAML file or folder given as a path."""
    from zoo.paths import hyperparams_dir

    if hyperparams is None:
        return hyperparams_dir() / f"{algo}.yml"
    candidate = Path(hyperparams)
    if candidate.is_file():
        return candidate
    if candidate.is_dir():
        return candidate / f"{algo}.yml"
    named = hyperparams_dir() / str(hyperparams) / f"{algo}.yml"
    if named.exists():
        return named
    sets = sorted(p.name for p in hyperparams_dir().iterdir() if p.is_dir())
    raise ZooError(
        f"No hyperparameters '{hyperparams}' for {algo}: not a YAML file, a folder, or a shipped set "
        f"with {algo}.yml (shipped sets: {', '.join(sets) or 'none'})."
    )


def config_with_flags(spec: AlgoSpec, values: dict[str, Any], *, source: str) -> Any:
    """The config of `values` over the alias's flags (a checkpoint's or resumed run's config)."""
    return build_config(spec.load_config_class(), {**spec.flags, **values}, source=source)


def resolve_hyperparams(
    spec: AlgoSpec,
    env_id: str,
    overrides: dict[str, Any] | None = None,
    hyperparams: str | Path | None = None,
) -> ResolvedHyperparams:
    from zoo.paths import hyperparams_dir
    from zoo.registry import ALGOS, aliases_of

    config_class = spec.load_config_class()
    path = hyperparams_file(spec.hyperparams_name, hyperparams)
    # Name the file as a user would find it: 'rl_zoo/dqn.yml' for a shipped set.
    shipped = hyperparams_dir()
    label = str(path.relative_to(shipped)) if path.is_relative_to(shipped) else str(path)
    entries = read_hyperparams_file(path) if path.exists() else {}
    sections = {name: entries[name] for name in aliases_of(spec.hyperparams_name) if name in entries}
    for name, section in sections.items():
        if not all(isinstance(entry, dict) for entry in section.values()):
            raise ZooError(f"{label} [{name}]: an alias section maps 'default' and env ids to mappings.")
    section = sections.get(spec.name, {}) if spec.base else {}
    env_name = env_entry_name(env_id)
    layers: list[tuple[str, dict[str, Any]]] = []
    if "default" in entries:
        layers.append((f"{label} [default]", entries["default"]))
    if spec.flags:
        layers.append((f"{spec.name}'s flags (zoo.registry)", spec.flags))
    if "default" in section:
        layers.append((f"{label} [{spec.name}][default]", section["default"]))
    if env_name in entries and env_name not in ALGOS:
        layers.append((f"{label} [{env_name}]", entries[env_name]))
    if env_name in section:
        layers.append((f"{label} [{spec.name}][{env_name}]", section[env_name]))
    if overrides:
        layers.append(("--hp", overrides))

    values: dict[str, Any] = {}
    env_kwargs: dict[str, Any] = {}
    env_wrappers: list[str] = []
    config = build_config(config_class, {}, source=config_class.__name__)
    for source, entry in layers:
        for key, value in entry.items():
            if key == ENV_KWARGS_KEY:
                if not isinstance(value, dict):
                    raise ZooError(f"{source}: env_kwargs must be a mapping, got {value!r}.")
                env_kwargs.update(value)
            elif key == ENV_WRAPPERS_KEY:
                from zoo.environments import check_wrappers

                if not isinstance(value, list):
                    raise ZooError(f"{source}: env_wrappers must be a list of wrapper names, got {value!r}.")
                env_wrappers = list(check_wrappers(value, source))
            else:
                values[key] = value
        # Build after each layer so that an error names the file entry or flag that caused it.
        config = build_config(config_class, values, source=source)
    return ResolvedHyperparams(config=config, env_kwargs=env_kwargs, env_wrappers=env_wrappers,
                               sources=[s for s, _ in layers])
