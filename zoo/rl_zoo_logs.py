"""RL Zoo's run folders, read for `zoo plot` beside zoo's runs: their training episodes (SB3's
Monitor files) and periodic evaluations (EvalCallback's evaluations.npz); never their model.

RL Zoo writes a run to LOG_FOLDER/<algo>/<env>_<n>/: `<i>.monitor.csv` per training env (a
JSON header line, then r, l, t: an episode's return, length and seconds since the run
started), `evaluations.npz` (timesteps, results: [evaluations, episodes]) when it evaluated,
and `<env>/args.yml` (its command line, as a YAML-dumped OrderedDict), beside `<env>.zip`.
All of it is a stranger's data: bounded reads, numbers checked, the npz without pickles.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import ZooError
from zoo.files import flag_folder, read_text, regular_file
from zoo.runs import CONFIG_NAME, RL_ZOO_ARGS_NAME


class NothingLogged(ZooError):
    """A run (zoo's or RL Zoo's) with no episode logged yet: nothing of it to plot."""

    def __init__(self, run_dir: Path):
        super().__init__(f"{run_dir} has no logged episodes yet.")
        self.reason = "no logged episodes yet"


MONITOR_SUFFIX = ".monitor.csv"
EVALUATIONS_NPZ = "evaluations.npz"
MAX_MONITOR_FILES = 256  # one per training env
MAX_LOG_BYTES = 256 * 2**20  # a run's monitor files together (~8M episodes)
MAX_EVALUATIONS_BYTES = 256 * 2**20  # on disk and inflated
_RUN_NAME = re.compile(r"(?P<env>.+)_(?P<number>\d+)")  # <env>_<n> (RL Zoo's uuid suffix aside)
# args.yml holds `  - - seed` then `    - 1234` (yaml.dump of an OrderedDict of pairs, under a
# Python tag that safe_load refuses): the seed is read from its text
_SEED = re.compile(r"- - seed\n[ ]*- (\d+)[ ]*$", re.MULTILINE)


@dataclass
class RlZooLog:
    algo: str  # from the folder's place, LOG_FOLDER/<algo>/<env>_<n>: labels only
    env_id: str
    seed: int | None
    steps: np.ndarray  # env steps at each training episode's end (all envs, in time order)
    seconds: np.ndarray  # seconds since the run started, at the same ends
    returns: np.ndarray
    evaluation: tuple[np.ndarray, np.ndarray] | None  # (env steps, mean return), when it evaluated


def is_rl_zoo_run(folder: Path) -> bool:
    """RL Zoo's <env>_<n> with its logs; never a zoo run (whose config.yml sits at its top, where
    RL Zoo keeps its own in <env>/)."""
    return (folder.is_dir() and _RUN_NAME.fullmatch(folder.name) is not None
            and not (folder / CONFIG_NAME).is_file()
            and (any(folder.glob(f"*{MONITOR_SUFFIX}")) or (folder / EVALUATIONS_NPZ).is_file()))


def rl_zoo_runs_in(folder: Path) -> list[Path]:
    """The RL Zoo runs of a log folder (LOG_FOLDER/<algo>, or LOG_FOLDER), in path order."""
    if not folder.is_dir() or is_rl_zoo_run(folder):
        return []
    for pattern in ("*", "*/*"):
        runs = sorted(run for run in folder.glob(pattern) if is_rl_zoo_run(run))
        if runs:
            return runs
    return []


def read_rl_zoo_run(folder: Path) -> RlZooLog:
    match = _RUN_NAME.fullmatch(folder.name)
    if match is None:
        raise ZooError(f"{folder} is not an RL Zoo run folder (<env>_<n>).")
    env_name = match["env"]
    steps, seconds, returns = _monitor_episodes(folder)
    evaluation = _evaluations(folder / EVALUATIONS_NPZ) if (folder / EVALUATIONS_NPZ).is_file() else None
    if not len(returns) and evaluation is None:
        raise NothingLogged(folder)
    seed = None
    args = folder / env_name / RL_ZOO_ARGS_NAME
    if args.is_file():
        found = _SEED.search(read_text(args, "RL Zoo's args.yml"))
        seed = int(found[1]) if found else None
    return RlZooLog(folder.parent.name, env_name, seed, steps, seconds, returns, evaluation)


def check_monitor_folder(folder: Path) -> None:
    """--reward-log's folder, checked before anything is played."""
    flag_folder(folder, "--reward-log", f"the log goes to its 0{MONITOR_SUFFIX}", make=False)


class MonitorLog:
    """Episodes played, as SB3's Monitor writes them (RL Zoo's `enjoy --reward-log FOLDER`):
    FOLDER/0.monitor.csv, a JSON header line (t_start: the play's start, Unix time; env_id),
    then r, l, t (return, length, seconds since t_start at the episode's end), each row flushed
    as its episode ends, as SB3's Monitor does: a cut play keeps the episodes it finished."""

    def __init__(self, folder: Path, env_id: str):
        check_monitor_folder(folder)
        self.path = folder / f"0{MONITOR_SUFFIX}"
        self.t_start = time.time()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.file = self.path.open("w", newline="")
        except OSError as error:
            raise ZooError(f"--reward-log {folder}: cannot write its 0{MONITOR_SUFFIX} ({error.strerror or error}).") \
                from None
        self.file.write("#" + json.dumps({"t_start": round(self.t_start, 6), "env_id": env_id}) + "\n")
        self.writer = csv.writer(self.file)
        self.writer.writerow(["r", "l", "t"])
        self.file.flush()

    def add(self, episode_return: float, length: int) -> None:
        self.writer.writerow([round(float(episode_return), 6), int(length), round(time.time() - self.t_start, 6)])
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _monitor_episodes(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every training env's episodes in the order they ended (SB3's load_results): env steps
    (the lengths summed over all envs), seconds, returns."""
    files = sorted(folder.glob(f"*{MONITOR_SUFFIX}"))
    if len(files) > MAX_MONITOR_FILES:
        raise ZooError(f"{folder} holds {len(files)} monitor files, more than the {MAX_MONITOR_FILES} zoo reads.")
    rows: list[tuple[float, float, float]] = []  # (t, l, r)
    left = MAX_LOG_BYTES  # for all the run's monitor files together
    for path in files:
        left -= regular_file(path, "an SB3 monitor file", left)
        text = read_text(path, "an SB3 monitor file", limit=MAX_LOG_BYTES)
        lines = text.splitlines()
        if lines and lines[0].startswith("#"):  # the JSON header: t_start, env_id
            lines = lines[1:]
        try:
            for row in csv.DictReader(io.StringIO("\n".join(lines))):
                rows.append((float(row["t"]), float(row["l"]), float(row["r"])))
        except (KeyError, TypeError, ValueError):
            raise ZooError(f"{path} is not an SB3 monitor file (columns r, l, t of numbers).") from None
    table = np.array(sorted(rows), dtype=np.float64).reshape(-1, 3)
    if not np.isfinite(table).all():
        raise ZooError(f"{folder}: a monitor file holds NaN or infinite values.")
    return np.cumsum(table[:, 1]), table[:, 0], table[:, 2]


def _evaluations(path: Path) -> tuple[np.ndarray, np.ndarray]:
    regular_file(path, "RL Zoo's evaluations.npz", MAX_EVALUATIONS_BYTES)
    try:
        with zipfile.ZipFile(path) as members:  # what each array inflates to, before any is read
            inflated = sum(info.file_size for info in members.infolist())
        if inflated > MAX_EVALUATIONS_BYTES:
            raise ZooError(f"{path} inflates to {inflated / 2**20:.0f} MiB, more than the "
                           f"{MAX_EVALUATIONS_BYTES / 2**20:.0f} MiB zoo reads for an evaluations.npz.")
        with np.load(path, allow_pickle=False) as archive:  # object arrays (pickles) raise, unread
            timesteps = np.asarray(archive["timesteps"], dtype=np.float64)
            results = np.asarray(archive["results"], dtype=np.float64)
    except (KeyError, ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile):
        raise ZooError(f"{path} is not an SB3 evaluations.npz (timesteps and results, numbers only).") from None
    if timesteps.ndim != 1 or results.ndim != 2 or len(timesteps) != len(results) or not results.shape[1]:
        raise ZooError(f"{path}: timesteps and results do not fit ({timesteps.shape} and {results.shape}).")
    if not (np.isfinite(timesteps).all() and np.isfinite(results).all()):
        raise ZooError(f"{path} holds NaN or infinite values.")
    return timesteps, results.mean(axis=1)
