"""Checkpoints: one zip file holding `metadata.json` and `arrays.npz`.

* Nothing is unpickled on load: metadata is JSON, arrays load with `allow_pickle=False`.
* Saves are atomic: the file is written beside its target, synced, then renamed over it, so
  an interrupted save leaves the previous checkpoint (or none), never half a file.
* Both files sit in one archive so they cannot drift apart, which two files renamed one
  after the other could.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import gymnasium as gym
import numpy as np

from zoo.errors import ZooError
from zoo.files import atomic_write

FORMAT = "zoo-checkpoint"
FORMAT_VERSION = 1
CHECKPOINT_NAME = "model.zip"


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


def space_from_dict(data: dict[str, Any]) -> gym.Space:
    kind = data.get("type")
    if kind == "Discrete":
        return gym.spaces.Discrete(data["n"], start=data.get("start", 0))
    if kind == "Box":
        dtype = np.dtype(data["dtype"])
        return gym.spaces.Box(
            low=np.asarray(data["low"], dtype=dtype),
            high=np.asarray(data["high"], dtype=dtype),
            shape=tuple(data["shape"]),
            dtype=dtype,
        )
    if kind == "MultiDiscrete":
        return gym.spaces.MultiDiscrete(data["nvec"])
    if kind == "MultiBinary":
        return gym.spaces.MultiBinary(data["n"])
    raise ValueError(f"unknown space type {kind!r}")


# ---- writing and reading --------------------------------------------------------------


def checkpoint_file(path: str | Path) -> Path:
    """A run directory stands for the checkpoint inside it."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() else path


def write_checkpoint(path: str | Path, metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    from zoo import __version__

    path = Path(path)
    full_metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "zoo_version": __version__, **metadata}

    arrays_buffer = io.BytesIO()
    named: dict[str, Any] = {name: np.asarray(value) for name, value in arrays.items()}
    np.savez(arrays_buffer, **named)

    def write_zip(raw: BinaryIO) -> None:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("metadata.json", json.dumps(full_metadata, indent=2, sort_keys=True))
            archive.writestr("arrays.npz", arrays_buffer.getvalue())

    return atomic_write(path, write_zip)


def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    path = checkpoint_file(path)
    if not path.exists():
        raise ZooError(f"No checkpoint at {path}. Train one first with `zoo train ALGO ENV`, or pass --path.")
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
            arrays_bytes = archive.read("arrays.npz")
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
            raise ZooError(
                f"{path} is not a zoo checkpoint (its metadata.json does not say format '{FORMAT}')."
            )
        with np.load(io.BytesIO(arrays_bytes), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ZooError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, zipfile.LargeZipFile) as error:
        raise ZooError(
            f"{path} is not a readable zoo checkpoint ({type(error).__name__}: {error}). "
            "It may be corrupt, truncated or from another tool; retrain or pass another --path."
        ) from None
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ZooError(
            f"{path} uses checkpoint format version {metadata.get('format_version')}, this zoo reads "
            f"version {FORMAT_VERSION}; use the zoo release that wrote it ({metadata.get('zoo_version')})."
        )
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
