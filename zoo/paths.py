"""Where the shipped data lives: `hyperparams/` and `trained/`.

In a source checkout (and an editable install) they sit beside the `zoo/` package; a wheel
carries them inside it as `zoo/hyperparams` and `zoo/trained` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"zoo cannot find its '{name}' folder (looked in {_PACKAGE_DIR} and {_PACKAGE_DIR.parent}); "
        "reinstall the package"
    )


def hyperparams_dir() -> Path:
    return _data_dir("hyperparams")


def trained_dir() -> Path:
    return _data_dir("trained")
