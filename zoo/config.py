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
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from zoo.errors import ZooError, brief, brief_text, did_you_mean
from zoo.files import load_yaml, read_text

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
    env_kwargs_sources: dict[str, str] = field(default_factory=dict)  # each env kwarg's entry or flag, for errors

    def env_kwarg_source(self, key: str) -> str:
        """The entry or flag that set env kwarg `key` last, for an error about its value."""
        return self.env_kwargs_sources.get(key, "env_kwargs")


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
        positions = typing.get_args(annotation)
        if origin is tuple and len(positions) > 1 and positions[-1] is not Ellipsis:  # tuple[int, str]: by position
            if len(value) != len(positions):
                raise TypeError
            return tuple(coerce_value(item, item_type) for item, item_type in zip(value, positions))
        (item_type, *rest) = positions or (Any,)
        items = [coerce_value(item, item_type) for item in value]
        return items if origin is list else tuple(items)
    if origin is dict or annotation is dict:
        if isinstance(value, dict):
            return dict(value)
        raise TypeError
    raise TypeError(f"unsupported annotation {annotation!r}")


# Ranges of hyperparameters that several algorithms share, by name: (low, high, low_inclusive).
# Checked for every config before its own __post_init__ (which checks what is its alone).
RANGES: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.0, 1.0, False),
    "tau": (0.0, 1.0, False),
    "max_grad_norm": (0.0, math.inf, True),  # 0: no clipping; negative would silently be no clipping
    "exploration_fraction": (0.0, 1.0, True),
    "exploration_initial_eps": (0.0, 1.0, True),
    "exploration_final_eps": (0.0, 1.0, True),
    "epsilon": (0.0, 1.0, True),
    "gae_lambda": (0.0, 1.0, True),
    "ent_coef": (0.0, math.inf, True),
    "vf_coef": (0.0, math.inf, True),
    "noise_std": (0.0, math.inf, True),
    "noise_theta": (0.0, math.inf, True),
    "initial_alpha": (0.0, math.inf, False),
    "coefficient": (0.0, math.inf, True),
    "prior_successes": (0.0, math.inf, False),
    "prior_failures": (0.0, math.inf, False),
    "theta": (0.0, math.inf, False),
    "log_std_init": (-20.0, 2.0, True),  # SAC's clamp: beyond it a Gaussian is a point or noise
    "target_update_interval": (1, math.inf, True),
    "frame_stack": (1, 64, True),
}
MAX_WIDTH = 65_536  # a hidden layer's width (net_arch); the network budget (zoo.build) bounds the whole


def check_value(key: str, value: Any, source: str) -> None:
    """Every number finite, and in range for the hyperparameters RANGES names."""
    for number in _numbers(value):
        if isinstance(number, float) and not math.isfinite(number):
            raise ZooError(f"{source}: hyperparameter '{key}' must be a finite number, got {brief(value)}.")
        if isinstance(number, int) and abs(number) > 2**53:
            raise ZooError(f"{source}: hyperparameter '{key}' is out of range, got {brief(value)}.")
    ranged = value  # what the range applies to
    if isinstance(value, str) and value.startswith("lin_"):  # RL Zoo's linear schedule: its start is the value
        try:
            ranged = float(value[4:])
        except ValueError:
            ranged = None  # the config names the form it takes (zoo.schedules.parse_schedule)
    if key in RANGES and isinstance(ranged, (int, float)) and not isinstance(ranged, bool):
        low, high, low_inclusive = RANGES[key]
        if not ((ranged >= low if low_inclusive else ranged > low) and ranged <= high):
            bracket = "[" if low_inclusive else "("
            raise ZooError(f"{source}: hyperparameter '{key}' must be in {bracket}{low:g}, {high:g}], "
                           f"got {brief(value)}.")
    if key == "net_arch" and isinstance(value, (list, tuple)):
        for width in value:
            if not 1 <= width <= MAX_WIDTH:
                raise ZooError(f"{source}: net_arch widths must be whole numbers from 1 to {MAX_WIDTH}, "
                               f"got {brief(list(value))}.")
    if key == "resize" and isinstance(value, (list, tuple)):
        if len(value) != 2 or not all(1 <= side <= 4096 for side in value):
            raise ZooError(f"{source}: resize must be [height, width], each 1 to 4096, got {brief(list(value))}.")


MAX_SEED = 2**32  # numpy's legacy generator, Gymnasium's spaces and torch all take 0 <= seed < 2**32


def valid_seed(seed: object) -> bool:
    """None (no seed) or a whole number in [0, MAX_SEED): for the command line and checkpoints alike."""
    return seed is None or (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < MAX_SEED)


def check_seed(seed: int | None, flag: str = "--seed") -> None:
    if not valid_seed(seed):
        raise ZooError(f"{flag} must be a whole number from 0 to 2**32 - 1, got {brief(seed)}.")


def _numbers(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)


def build_config(config_class: type, values: dict[str, Any], *, source: str) -> Any:
    """Make `config_class(**values)`, refusing unknown keys and wrongly typed values."""
    if not isinstance(values, dict):
        raise ZooError(f"{source}: expected a mapping of hyperparameters, got {type(values).__name__}.")
    hints = typing.get_type_hints(config_class)
    fields = [f.name for f in dataclasses.fields(config_class)]
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ZooError(f"{source}: unknown hyperparameter '{brief_text(key)}'.{did_you_mean(str(key), fields)} "
                           f"Valid keys: {', '.join(fields)}.")
        try:
            kwargs[key] = coerce_value(value, hints[key])
        except TypeError:
            raise ZooError(
                f"{source}: hyperparameter '{key}' must be {type_name(hints[key])}, got {brief(value)}."
            ) from None
        check_value(key, kwargs[key], source)
    try:
        return config_class(**kwargs)
    except (ValueError, TypeError, OverflowError) as error:
        raise ZooError(f"{source}: {brief_text(str(error), 300)}") from None


# ---- files and overrides ----------------------------------------------------------------


class Overrides(dict):
    """Hyperparameters set on the command line, with the flag(s) they came from, which name
    their layer in errors: `--hp`, or `--hyperparams` for RL Zoo's `--hyperparams key:value`."""

    flag = "--hp"

    @classmethod
    def copy_of(cls, overrides: dict[str, Any] | None) -> Overrides:
        """A copy to add to (--steps' budget), keeping the flag that names it."""
        copy = cls(overrides or {})
        copy.flag = getattr(overrides, "flag", cls.flag)
        return copy


def parse_overrides(pairs: Sequence[str], rl_zoo_pairs: Sequence[str] = ()) -> Overrides:
    """['lr=1e-3', 'net_arch=[64, 64]'] -> {'lr': 0.001, 'net_arch': [64, 64]} (YAML values);
    `rl_zoo_pairs` are RL Zoo's spelling of the same, ['lr:1e-3'], given as --hyperparams."""
    overrides = Overrides()
    for flag, separator, given in (("--hyperparams", ":", rl_zoo_pairs), ("--hp", "=", pairs)):
        for pair in given:
            key, sep, text = pair.partition(separator)
            if not sep or not key.strip():
                raise ZooError(f"{flag} expects key{separator}value, got '{brief_text(pair)}'.")
            overrides[key.strip()] = _flag_value(text, f"{flag} {brief_text(pair)}")
    flags = [flag for flag, given in (("--hp", pairs), ("--hyperparams", rl_zoo_pairs)) if given]
    overrides.flag = " and ".join(flags) or "--hp"
    return overrides


def parse_env_kwargs(pairs: list[str], flag: str = "--env-kwargs") -> dict[str, Any]:
    """RL Zoo's `--env-kwargs` (and `--eval-env-kwargs`): ['g:9.81', 'render_mode:rgb_array'] ->
    {'g': 9.81, 'render_mode': 'rgb_array'}, keyword arguments for gym.make (values as --hp's)."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition(":")
        if not sep or not key.strip().isidentifier():
            raise ZooError(f"{flag} expects key:value (a keyword argument of the env), got '{brief_text(pair)}'.")
        kwargs[key.strip()] = _flag_value(text, f"{flag} {brief_text(pair)}")
    return kwargs


def _flag_value(text: str, label: str) -> Any:
    """A value typed on the command line, read as YAML, with two readings YAML lacks: '1e-3' is
    a number (YAML 1.1 reads it as a string), and Python's None is null (RL Zoo's flags are
    Python literals: `--env-kwargs max_episode_steps:None`)."""
    value = load_yaml(text, label) if text.strip() else ""
    if isinstance(value, dict):
        _refuse_keys_missing_a_space(value, label)
    if isinstance(value, str):
        if value == "None":
            return None
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            pass
    return value


def _refuse_keys_missing_a_space(mapping: dict, label: str) -> None:
    """'{render_mode:human}' is YAML for the key 'render_mode:human' without a value (a flow
    mapping's colon needs a space after it): a user typing it meant {render_mode: human}."""
    for key, value in mapping.items():
        if value is None and isinstance(key, str) and ":" in key:
            name, _, meant = key.partition(":")
            raise ZooError(f"{label}: '{brief_text(key)}' reads as one key without a value; YAML "
                           f"needs a space after the colon: {{{brief_text(name)}: {brief_text(meant)}}}.")


def read_hyperparams_file(path: Path) -> dict[str, dict[str, Any]]:
    data = load_yaml(read_text(path, "a YAML hyperparameter file"), str(path)) or {}
    if not isinstance(data, dict) or not all(isinstance(entry, dict) for entry in data.values()):
        raise ZooError(f"{path} must map 'default', env ids and alias sections to mappings of hyperparameters.")
    return data


def env_entry_name(env_id: str) -> str:
    """'envs:CliffWalking4x12-v0' uses the entry of 'CliffWalking4x12-v0'."""
    return env_id.split(":", 1)[-1]


SEARCH_SPACES = "search"  # hyperparams/search/: zoo tune's search spaces (zoo/tune/space.py)


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
        if not (candidate / f"{algo}.yml").is_file():
            raise ZooError(f"--hyperparams {hyperparams}: that folder has no {algo}.yml; add one (it may hold just "
                           "`default: {}`) or name the file itself.")
        return candidate / f"{algo}.yml"
    # hyperparams/search/ holds `zoo tune`'s search spaces, not hyperparameters: never a set
    named = hyperparams_dir() / str(hyperparams) / f"{algo}.yml"
    if str(hyperparams) != SEARCH_SPACES and named.exists():
        return named
    sets = sorted(p.name for p in hyperparams_dir().iterdir()
                  if p.is_dir() and p.name != SEARCH_SPACES and (p / f"{algo}.yml").is_file())
    key, colon, value = str(hyperparams).partition(":")
    # RL Zoo's `--hyperparams learning_rate:0.01` sets one; here --hyperparams names a set or file
    hint = (f" RL Zoo's --hyperparams {key}:{value} is --hp {key}={value} here." if colon and key.isidentifier()
            else "")
    raise ZooError(
        f"No hyperparameters '{hyperparams}' for {algo}: not a YAML file, a folder, or a shipped set "
        f"with {algo}.yml (shipped sets: {', '.join(sets) or 'none'}).{hint}"
    )


def shipped_entries(spec: AlgoSpec) -> dict[str, list[str]]:
    """The env ids with an entry for `spec` in each shipped set: "" for hyperparams/<algo>.yml
    (the default), else the set's folder name (rl_zoo, v0_1, ...), in name order."""
    from zoo.paths import hyperparams_dir
    from zoo.registry import ALGOS

    found: dict[str, list[str]] = {}
    sets = [""] + sorted(p.name for p in hyperparams_dir().iterdir() if p.is_dir() and p.name != SEARCH_SPACES)
    for name in sets:
        path = hyperparams_dir() / name / f"{spec.hyperparams_name}.yml"
        if not path.is_file():
            continue
        entries = read_hyperparams_file(path)
        section = entries.get(spec.name, {}) if spec.base else {}
        envs = {key for key in entries if key != "default" and key not in ALGOS}
        envs |= {key for key in section if key != "default"}
        if envs:
            found[name] = sorted(envs)
    return found


def config_with_flags(spec: AlgoSpec, values: dict[str, Any], *, source: str) -> Any:
    """The config of `values` over the alias's flags (a checkpoint's or resumed run's config)."""
    return build_config(spec.load_config_class(), {**spec.flags, **values}, source=source)


def resolve_hyperparams(
    spec: AlgoSpec,
    env_id: str,
    overrides: dict[str, Any] | None = None,
    hyperparams: str | Path | None = None,
    flags: Sequence[tuple[str, dict[str, Any]]] = (),
) -> ResolvedHyperparams:
    """The config of `spec` on `env_id`: the layers of the README's precedence, then `overrides`
    (--hp), then `flags`: (flag, its settings) of the options that set one hyperparameter
    (--steps, --n-envs, --save-freq), each a layer of its own so that its errors name it."""
    from zoo.environments import check_env_arguments
    from zoo.paths import hyperparams_dir
    from zoo.registry import ALGOS, aliases_of
    from zoo.rl_zoo_format import SB3_DEFAULTS, is_rl_zoo_file, translate_entry

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
    if is_rl_zoo_file(entries) and spec.hyperparams_name in SB3_DEFAULTS:
        layers.append((f"SB3's defaults where zoo's differ (RL Zoo's {label} assumes them)",
                       SB3_DEFAULTS[spec.hyperparams_name]))
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
    overrides_flag = getattr(overrides, "flag", "--hp")
    if overrides:
        layers.append((overrides_flag, overrides))
    # RL Zoo's spellings (policy_kwargs, normalize, ...), in its own files, zoo's or --hp, as zoo's
    # keys (zoo/rl_zoo_format.py): keys zoo does not know otherwise, so a zoo entry reads the same
    fields = {f.name for f in dataclasses.fields(config_class)}
    layers = [(source, translate_entry(entry, source, fields)) for source, entry in layers]
    layers += [(flag, settings) for flag, settings in flags if settings]

    values: dict[str, Any] = {}
    env_kwargs: dict[str, Any] = {}
    env_kwargs_sources: dict[str, str] = {}
    env_wrappers: list[str] = []
    config = build_config(config_class, {}, source=config_class.__name__)
    notes: list[str] = []
    for source, entry in layers:
        for key, value in entry.items():
            if key == ENV_KWARGS_KEY:
                if not isinstance(value, dict):
                    raise ZooError(f"{source}: env_kwargs must be a mapping, got {brief(value)}.")
                check_env_arguments(env_id, value, source)  # finite numbers, arguments the env takes
                env_kwargs.update(value)
                env_kwargs_sources.update(dict.fromkeys(value, source if source == "--env-kwargs" else
                                                        f"{source} env_kwargs"))
            elif key == ENV_WRAPPERS_KEY:
                from zoo.environments import check_wrappers

                if not isinstance(value, list):
                    raise ZooError(f"{source}: env_wrappers must be a list of wrapper names, got {brief(value)}.")
                env_wrappers = list(check_wrappers(value, source))
            else:
                values[key] = value
        follow = getattr(config_class, "follow_overrides", None)  # a config whose entry depends on a choice
        if source == overrides_flag and follow is not None:
            values, note = follow(values, entry)
            if note:
                notes.append(f"note: {note}")
        # Build after each layer so that an error names the file entry or flag that caused it.
        config = build_config(config_class, values, source=source)
    return ResolvedHyperparams(config=config, env_kwargs=env_kwargs, env_wrappers=env_wrappers,
                               sources=[s for s, _ in layers] + notes, env_kwargs_sources=env_kwargs_sources)
