"""Checkpoints: one zip file holding `metadata.json` and `arrays.npz`.

* Nothing is unpickled on load: metadata is JSON, arrays are parsed from their .npy headers
  (zoo.files.read_npz). A checkpoint is untrusted: it is read only from a regular file, its
  members within size limits checked before inflating, its metadata validated field by field
  (`validate_metadata`) and its arrays refused when not plain finite numbers.
* Saves are atomic: the file is written beside its target, synced, then renamed over it, so
  an interrupted save leaves the previous checkpoint (or none), never half a file.
* Both files sit in one archive so they cannot drift apart, which two files renamed one
  after the other could.
"""

from __future__ import annotations

import io
import json
import math
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import gymnasium as gym
import numpy as np

from zoo.errors import ZooError, brief, brief_text
from zoo.files import atomic_write, max_checkpoint_bytes, non_finite_array, read_npz, regular_file

FORMAT = "zoo-checkpoint"
FORMAT_VERSION = 1
CHECKPOINT_NAME = "model.zip"
MAX_METADATA_BYTES = 16 * 2**20  # Box bounds of a 210x160x3 image fill ~2 MiB of JSON
MAX_SPACE_ELEMENTS = 2**24  # values in one observation or action (an Atari frame has 100,800)
MAX_DISCRETE = 2**31  # choices of a Discrete space (a table agent is also bounded by its arrays)


# ---- spaces as JSON -------------------------------------------------------------------


def space_to_dict(space: gym.Space) -> dict[str, Any]:
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": space.low.tolist(),
            "high": space.high.tolist(),
        }
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist()}
    if isinstance(space, gym.spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    raise ZooError(f"zoo cannot save agents for {type(space).__name__} spaces yet: {space}")


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number in [{low}, {high}], got {brief(value)}")
    return value


def _bounds(value: Any, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"Box {name} must be numbers, got {brief(value)}") from None
    if array.shape not in ((), shape):
        raise ValueError(f"Box {name} has shape {array.shape}, the space {shape}")
    if np.isnan(array).any():
        raise ValueError(f"Box {name} holds NaN")
    return array.astype(dtype) if dtype.kind == "f" else array


def space_from_dict(data: Any) -> gym.Space:
    """The space a checkpoint describes, its sizes checked before anything is allocated."""
    if not isinstance(data, dict):
        raise ValueError(f"a space must be a mapping, got {brief(data)}")
    kind = data.get("type")
    if kind == "Discrete":
        return gym.spaces.Discrete(_whole(data.get("n"), "Discrete n", 1, MAX_DISCRETE),
                                   start=_whole(data.get("start", 0), "Discrete start", -MAX_DISCRETE, MAX_DISCRETE))
    if kind == "Box":
        raw_shape = data.get("shape")
        if not isinstance(raw_shape, list) or len(raw_shape) > 8:
            raise ValueError(f"Box shape must be a list of at most 8 sizes, got {brief(raw_shape)}")
        shape = tuple(_whole(length, "Box shape", 0, MAX_SPACE_ELEMENTS) for length in raw_shape)
        if math.prod(shape) > MAX_SPACE_ELEMENTS:
            raise ValueError(f"Box shape {shape} has more than {MAX_SPACE_ELEMENTS} values")
        try:
            dtype = np.dtype(str(data.get("dtype")))
        except TypeError:
            raise ValueError(f"Box dtype {brief(data.get('dtype'))} is not a numpy dtype") from None
        if dtype.kind not in "iuf" or dtype.hasobject:
            raise ValueError(f"Box dtype must be a number type, got {brief_text(str(dtype))}")
        low, high = _bounds(data.get("low"), "low", shape, dtype), _bounds(data.get("high"), "high", shape, dtype)
        return gym.spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
    if kind == "MultiDiscrete":
        nvec = data.get("nvec")
        if not isinstance(nvec, list) or not 1 <= len(nvec) <= 4096:
            raise ValueError(f"MultiDiscrete nvec must be a list of 1 to 4096 sizes, got {brief(nvec)}")
        return gym.spaces.MultiDiscrete([_whole(n, "MultiDiscrete nvec", 1, MAX_DISCRETE) for n in nvec])
    if kind == "MultiBinary":
        n = data.get("n")
        sizes = [_whole(k, "MultiBinary n", 1, MAX_SPACE_ELEMENTS) for k in (n if isinstance(n, list) else [n])]
        if len(sizes) > 8 or math.prod(sizes) > MAX_SPACE_ELEMENTS:
            raise ValueError(f"MultiBinary n {brief(n)} is too large")
        return gym.spaces.MultiBinary(sizes if isinstance(n, list) else sizes[0])
    raise ValueError(f"unknown space type {brief(kind)}")


def validate_metadata(metadata: Any, label: str) -> dict[str, Any]:
    """`metadata` if every field a loader reads has the type and range it needs, else one
    ZooError naming `label` and the field. `config` is checked later, against the algo's
    dataclass (zoo.config). An env id may name a module (`package:EnvId`) only if that module
    is already imported (by the user's --env-package or env id): a file never makes zoo import."""
    from zoo.config import valid_seed
    from zoo.environments import check_env_arguments, check_wrappers
    from zoo.registry import ALGOS

    def refuse(field: str, problem: str) -> ZooError:
        return ZooError(f"{label} is not a valid zoo checkpoint: '{field}' {problem}.")

    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ZooError(f"{label} is not a zoo checkpoint (its metadata.json does not say format '{FORMAT}').")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ZooError(f"{label} uses checkpoint format version {brief(version)}, this zoo reads version "
                       f"{FORMAT_VERSION}; use the zoo release that wrote it ({brief(metadata.get('zoo_version'))}).")
    algo = metadata.get("algo")
    if not isinstance(algo, str) or algo not in ALGOS:
        raise refuse("algo", f"is {brief(algo)}, not an algorithm this zoo has (see `zoo list`)")
    env_id = metadata.get("env_id")
    if not isinstance(env_id, str) or not 0 < len(env_id) <= 256:
        raise refuse("env_id", f"must be an env id (text), got {brief(env_id)}")
    module, sep, _ = env_id.rpartition(":")
    if sep and module != "envs" and module not in sys.modules:  # envs: the zoo's own
        raise refuse("env_id", f"names the module '{brief_text(module)}', and zoo never imports code named by a file; "
                     f"if you trust it, pass --env-package {brief_text(module)}")
    kwargs = metadata.get("env_kwargs", {})
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict) or not all(isinstance(key, str) for key in kwargs):
        raise refuse("env_kwargs", f"must be a mapping of argument names to values, got {brief(kwargs)}")
    check_env_arguments(env_id, kwargs, f"{label} (env_kwargs)")
    wrappers = metadata.get("env_wrappers", [])
    if wrappers is None:
        wrappers = []
    if not isinstance(wrappers, list) or not all(isinstance(name, str) for name in wrappers):
        raise refuse("env_wrappers", f"must be a list of wrapper names, got {brief(wrappers)}")
    check_wrappers(wrappers, f"{label} (env_wrappers)")
    seed = metadata.get("seed")
    if not valid_seed(seed):
        raise refuse("seed", f"must be empty or a whole number in [0, 2**32), got {brief(seed)}")
    steps = metadata.get("num_timesteps", 0)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps < 2**53:
        raise refuse("num_timesteps", f"must be a whole number >= 0, got {brief(steps)}")
    if not isinstance(metadata.get("config"), dict):
        raise refuse("config", "is missing or not a mapping of hyperparameters")
    for name in ("observation_space", "action_space"):
        try:
            space_from_dict(metadata.get(name))
        except (ValueError, TypeError, OverflowError) as error:
            raise refuse(name, f"is not a readable space ({error})") from None
    return {**metadata, "env_kwargs": kwargs, "env_wrappers": wrappers}


# ---- writing and reading --------------------------------------------------------------


def checkpoint_file(path: str | Path) -> Path:
    """A run directory stands for the checkpoint inside it (a folder named like a checkpoint
    file does not, so resolving twice changes nothing and reading it says it is a folder)."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() and path.suffix != ".zip" else path


def write_checkpoint(path: str | Path, metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    from zoo import __version__

    path = Path(path)
    full_metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "zoo_version": __version__, **metadata}

    arrays_buffer = io.BytesIO()
    named: dict[str, Any] = {name: np.asarray(value) for name, value in arrays.items()}
    # A diverged agent must not replace the last good checkpoint (nor be saved at all).
    if (name := non_finite_array(named)) is not None:
        raise ZooError(f"Not saving {path}: the agent's '{name}' holds NaN or infinite values (training "
                       "diverged; lower the learning rate or clip gradients). The last good save is kept.")
    np.savez(arrays_buffer, **named)

    def write_zip(raw: BinaryIO) -> None:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("metadata.json", json.dumps(full_metadata, indent=2, sort_keys=True))
            # stored, not deflated: float weights shrink ~7% for ~0.2 s per save of a [400, 300]
            # TD3, which every new best evaluation pays (reading takes both)
            archive.writestr("arrays.npz", arrays_buffer.getvalue(), compress_type=zipfile.ZIP_STORED)

    return atomic_write(path, write_zip)


# What every model zip Stable-Baselines3 saves holds (its `data` JSON and the policy's state
# dict, torch.save's pickle): named, never opened
SB3_MEMBERS = frozenset({"data", "policy.pth"})


def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata (validated) and arrays (plain finite numbers) of the checkpoint at `path`."""
    path = checkpoint_file(path)
    if not path.exists():
        raise ZooError(f"No checkpoint at {path}. Train one first with `zoo train ALGO ENV`.")
    limit = max_checkpoint_bytes()
    regular_file(path, "a checkpoint", limit + MAX_METADATA_BYTES)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if SB3_MEMBERS <= set(members) and "metadata.json" not in members:
                raise ZooError(f"{path} is a Stable-Baselines3 model (RL Zoo's), not a zoo checkpoint: zoo does not "
                               "load SB3's models, whose weights are pickles (which can run code). Play it with RL "
                               "Zoo's enjoy, or train the agent with `zoo train`.")
            for name, cap in (("metadata.json", MAX_METADATA_BYTES), ("arrays.npz", limit)):
                if name not in members:
                    raise ZooError(f"{path} is not a zoo checkpoint (it has no {name}).")
                if members[name].file_size > cap:
                    raise ZooError(f"{path}: {name} inflates to {members[name].file_size / 2**20:.0f} MiB, more "
                                   f"than the {cap / 2**20:.0f} MiB zoo reads (ZOO_MAX_CHECKPOINT_MB raises it).")
            metadata = json.loads(archive.read("metadata.json"))
            arrays_bytes = archive.read("arrays.npz")
    except ZooError:
        raise
    except RecursionError:
        raise ZooError(f"{path}: metadata.json is nested too deeply to be a zoo checkpoint's.") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, zipfile.LargeZipFile, RuntimeError,
            NotImplementedError, zlib.error) as error:
        raise ZooError(
            f"{path} is not a readable zoo checkpoint ({type(error).__name__}: {brief_text(str(error), 120)}). "
            "It may be corrupt, truncated or from another tool; retrain or pass another checkpoint."
        ) from None
    metadata = validate_metadata(metadata, str(path))
    arrays = read_npz(arrays_bytes, f"{path} (arrays.npz)", limit)
    if (bad := non_finite_array(arrays)) is not None:
        raise ZooError(f"{path}: array '{brief_text(bad)}' holds NaN or infinite values; an agent with non-finite "
                       "weights acts at random or not at all, so zoo refuses it.")
    return metadata, arrays


def check_compatible(
    metadata: dict[str, Any],
    path: str | Path,
    *,
    algo: str | None = None,
    env_id: str | None = None,
    observation_space: gym.Space | None = None,
    action_space: gym.Space | None = None,
) -> None:
    """Refuse a checkpoint of another algo, env or spaces, saying what it is instead."""
    from zoo.registry import normalize_algo_name

    saved_algo = metadata.get("algo")
    if algo is not None and saved_algo != normalize_algo_name(algo):
        raise ZooError(f"{path} holds a '{saved_algo}' agent, not '{normalize_algo_name(algo)}'.")
    saved_env = metadata.get("env_id")
    # 'envs:CliffWalking4x12-v0' and 'CliffWalking4x12-v0' are the same env.
    if env_id is not None and saved_env is not None and saved_env.split(":")[-1] != env_id.split(":")[-1]:
        raise ZooError(f"{path} was trained on '{saved_env}', not '{env_id}'.")
    for name, space in (("observation_space", observation_space), ("action_space", action_space)):
        if space is None:
            continue
        try:
            saved_space = space_from_dict(metadata[name])
        except (KeyError, ValueError, TypeError) as error:
            raise ZooError(f"{path} has no readable {name} ({error}); it is corrupt.") from None
        if saved_space != space:
            raise ZooError(f"{path} was saved for {name.replace('_', ' ')} {saved_space}, not {space}.")
