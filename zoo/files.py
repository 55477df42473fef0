"""Files written so that a crash never leaves half of one, and array files read without pickle."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from zoo.errors import ZooError


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` for the block to fill; when the block ends, it is synced
    and renamed into place: a crash or Ctrl-C mid-save leaves the old file (or none), never
    half of a new one. The temporary name keeps `path`'s suffix, for writers that pick their
    format from it (imageio)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """`write` fills the file at `path` through a binary stream, atomically (`atomic_path`)."""
    with atomic_path(path) as temporary, open(temporary, "wb") as raw:
        write(raw)
    return path


def write_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Arrays to an .npz, atomically, e.g. a replay buffer."""
    def write(raw: BinaryIO) -> None:
        named: dict[str, Any] = {name: np.asarray(value) for name, value in arrays.items()}
        np.savez(raw, **named)

    return atomic_write(Path(path), write)


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ZooError(f"{path} is not a readable array file ({error}).") from None
