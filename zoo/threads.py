"""How many threads training's arithmetic may use: torch's, and numpy's BLAS (OpenBLAS).

One knob, `n_threads` in every config, sets both. Numpy's BLAS matters since small networks
learn in numpy (zoo/hand_mlp.py): OpenBLAS starts one thread per core by default, and its
idle threads spin. Measured here (2026-11-26, two `zoo train dqn CartPole-v1` processes at
once on this 2-core machine, as `zoo tune --workers 2` runs): the updates took 31-93 s per
run with OpenBLAS's default threads against 1.9-3.1 s with one each. A process alone showed no
difference, which is why this was missed at first.

OpenBLAS is found among the process's loaded libraries (Linux /proc/self/maps) and set with
its own `*_set_num_threads` function through ctypes, as threadpoolctl does, without that
dependency; elsewhere (another BLAS, another OS) numpy keeps its own setting, and the
environment variable OPENBLAS_NUM_THREADS=1 does the same job by hand.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path
from typing import Any

import numpy as np  # noqa: F401  (loads numpy's BLAS, so that it can be found)
import torch

# numpy's wheels bundle scipy-openblas with prefixed (and 64-bit integer) symbols; a system
# OpenBLAS has the plain names
_PREFIXES = ("scipy_openblas_", "openblas_")
_SUFFIXES = ("64_", "")


def set_training_threads(n_threads: int) -> None:
    """`n_threads` for torch and for numpy's BLAS (0: leave both as they are)."""
    if n_threads <= 0:
        return
    if torch.get_num_threads() != n_threads:
        torch.set_num_threads(n_threads)
    setter = _openblas_function("set_num_threads")
    if setter is not None:
        setter.argtypes, setter.restype = [ctypes.c_int], None
        setter(int(n_threads))


def numpy_blas_threads() -> int | None:
    """The threads numpy's OpenBLAS will use, or None where it is not found."""
    getter = _openblas_function("get_num_threads")
    if getter is None:
        return None
    getter.argtypes, getter.restype = [], ctypes.c_int
    return int(getter())


@functools.cache
def _openblas_function(name: str) -> Any:
    maps = Path("/proc/self/maps")
    try:
        paths = {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line.lower()}
    except OSError:  # not Linux
        return None
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)  # already loaded: this only looks it up
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                function = getattr(library, f"{prefix}{name}{suffix}", None)
                if function is not None:
                    return function
    return None
