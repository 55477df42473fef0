"""Run directories: `runs/<algo>/<env>_<n>/` with config.yml, model.zip and progress.csv."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any

import yaml

from zoo.checkpoint import CHECKPOINT_NAME

CONFIG_NAME = "config.yml"
PROGRESS_NAME = "progress.csv"


def env_dir_name(env_id: str) -> str:
    """A file-system-safe form of an env id ('ALE/Pong-v5' -> 'ALE_Pong-v5')."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", env_id)


def _run_number(path: Path, prefix: str) -> int | None:
    suffix = path.name[len(prefix):]
    return int(suffix) if path.name.startswith(prefix) and suffix.isdigit() else None


def new_run_dir(root: str | Path, algo: str, env_id: str) -> Path:
    """The next free `<root>/<algo>/<env>_<n>` (n counts from 1), created."""
    from zoo.errors import ZooError

    parent = Path(root) / algo
    prefix = env_dir_name(env_id) + "_"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        taken = [n for n in (_run_number(p, prefix) for p in parent.iterdir()) if n is not None]
        number = max(taken, default=0) + 1
        while True:  # mkdir without exist_ok claims the number even if two runs start together
            run_dir = parent / f"{prefix}{number}"
            try:
                run_dir.mkdir()
                return run_dir
            except FileExistsError:
                number += 1
    except OSError as error:
        raise ZooError(f"--out {root}: cannot make a run folder in it ({error.strerror or error}).") from None


def latest_checkpoint(root: str | Path, algo: str, env_id: str) -> Path | None:
    """model.zip of the highest-numbered run of algo on env under root, if any."""
    parent = Path(root) / algo
    prefix = env_dir_name(env_id) + "_"
    if not parent.is_dir():
        return None
    runs = sorted(
        (n, p) for p in parent.iterdir() if (n := _run_number(p, prefix)) is not None and (p / CHECKPOINT_NAME).exists()
    )
    return runs[-1][1] / CHECKPOINT_NAME if runs else None


def find_checkpoint(algo: str, env_id: str, path: str | Path | None = None,
                    runs_root: str | Path = "runs") -> Path:
    """The checkpoint to play: `path` if given, else the latest local run, else the shipped one."""
    from zoo.checkpoint import checkpoint_file
    from zoo.errors import ZooError
    from zoo.paths import trained_dir

    if path is not None:
        return checkpoint_file(path)
    latest = latest_checkpoint(runs_root, algo, env_id)
    if latest is not None:
        return latest
    shipped = trained_dir() / algo / env_dir_name(env_id) / CHECKPOINT_NAME
    if shipped.exists():
        return shipped
    raise ZooError(
        f"No trained {algo} agent for {env_id}: none under {Path(runs_root) / algo} and none shipped "
        f"in trained/. Train one with `zoo train {algo} {env_id}`, or pass --path."
    )


def write_run_config(run_dir: Path, config: dict[str, Any]) -> Path:
    path = run_dir / CONFIG_NAME
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class CsvLog:
    """Rows appended to a CSV file and flushed, so the log is readable during a run."""

    def __init__(self, path: Path, fields: list[str]):
        self.path = path
        self._file = path.open("w", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=fields)
        self._writer.writeheader()

    def write(self, **row: Any) -> None:
        self._writer.writerow(row)
        self._file.flush()  # one row per episode or evaluation: readable (and kept) while the run goes on

    def write_many(self, rows: list[dict[str, Any]]) -> None:
        self._writer.writerows(rows)
        self._file.flush()

    def sync(self) -> None:
        """To the disk, not only the OS: with a checkpoint, so that a power cut keeps both."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def __enter__(self) -> CsvLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
