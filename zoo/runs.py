"""Run directories: `runs/<algo>/<env>_<n>/` with config.yml, model.zip and progress.csv;
replay_buffer.npz (save_replay_buffer) and checkpoints/ (save_freq) when the run keeps them."""

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
REPLAY_BUFFER_NAME = "replay_buffer.npz"
BEST_CHECKPOINT_NAME = "best_model.zip"
CHECKPOINTS_DIR_NAME = "checkpoints"
RL_ZOO_ARGS_NAME = "args.yml"  # RL Zoo's runs keep their command line there, beside config.yml
# RL Zoo's periodic checkpoints are rl_model_<step>_steps.zip; ours are model_<step>_steps.zip,
# each with replay_buffer_<step>_steps.npz beside it when the run keeps its buffer.
_PERIODIC_CHECKPOINT = re.compile(r"model_(\d+)_steps\.zip")


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


def periodic_checkpoint_path(run_dir: Path, step: int) -> Path:
    return run_dir / CHECKPOINTS_DIR_NAME / f"model_{step}_steps.zip"


def periodic_replay_path(run_dir: Path, step: int) -> Path:
    return run_dir / CHECKPOINTS_DIR_NAME / f"replay_buffer_{step}_steps.npz"


def replay_buffer_beside(checkpoint: Path) -> Path:
    """The replay buffer saved with `checkpoint`: replay_buffer.npz beside a run's model.zip,
    replay_buffer_<step>_steps.npz beside a periodic checkpoint (it may not exist)."""
    match = _PERIODIC_CHECKPOINT.fullmatch(checkpoint.name)
    if match is None:
        return checkpoint.parent / REPLAY_BUFFER_NAME
    return checkpoint.parent / f"replay_buffer_{match.group(1)}_steps.npz"


def periodic_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(env step, file) of each periodic checkpoint (save_freq) in `run_dir`, by step."""
    folder = run_dir / CHECKPOINTS_DIR_NAME
    if not folder.is_dir():
        return []
    return sorted((int(match.group(1)), path) for path in folder.iterdir()
                  if (match := _PERIODIC_CHECKPOINT.fullmatch(path.name)) is not None and path.is_file())


def latest_periodic_checkpoint(run_dir: Path) -> Path | None:
    """The periodic checkpoint of the most env steps in `run_dir`, if any."""
    checkpoints = periodic_checkpoints(run_dir)
    return checkpoints[-1][1] if checkpoints else None


# Which of a run's checkpoints to play (RL Zoo's enjoy flags): None its final model.zip, "best"
# best_model.zip (--load-best), "last" its latest periodic one (--load-last-checkpoint), or
# the periodic one of that env step (--load-checkpoint N).
CheckpointChoice = str | int | None


def choice_flag(which: CheckpointChoice) -> str:
    """The command-line flag that asks for `which`, for error messages."""
    if which == "best":
        return "--load-best"
    if which == "last":
        return "--load-last-checkpoint"
    return f"--load-checkpoint {which}"


def checkpoint_in_run(run_dir: Path, which: CheckpointChoice = None) -> Path | None:
    """The checkpoint `which` of a run folder, if it has it."""
    if which == "last":
        return latest_periodic_checkpoint(run_dir)
    if which is None:
        path = run_dir / CHECKPOINT_NAME
    elif which == "best":
        path = run_dir / BEST_CHECKPOINT_NAME
    elif isinstance(which, int):
        path = periodic_checkpoint_path(run_dir, which)
    else:
        raise ValueError(f"no checkpoint choice {which!r}")
    return path if path.is_file() else None


def latest_checkpoint(root: str | Path, algo: str, env_id: str, which: CheckpointChoice = None) -> Path | None:
    """The checkpoint `which` (default: model.zip) of the highest-numbered run of algo on env
    under root that has it, if any."""
    parent = Path(root) / algo
    prefix = env_dir_name(env_id) + "_"
    if not parent.is_dir():
        return None
    runs = sorted((n, p) for p in parent.iterdir() if (n := _run_number(p, prefix)) is not None and p.is_dir())
    for _, run_dir in reversed(runs):
        found = checkpoint_in_run(run_dir, which)
        if found is not None:
            return found
    return None


def run_of_exp_id(root: str | Path, algo: str, env_id: str, exp_id: int) -> Path | None:
    """RL Zoo's --exp-id: N > 0 is the run folder `<root>/<algo>/<env>_N`, 0 the latest run
    (None: find_checkpoint's default)."""
    from zoo.errors import ZooError

    if exp_id < 0:
        raise ZooError(f"--exp-id is a run's number (0: the latest), got {exp_id}.")
    if exp_id == 0:
        return None
    parent, prefix = Path(root) / algo, env_dir_name(env_id) + "_"
    run_dir = parent / f"{prefix}{exp_id}"
    if not run_dir.is_dir():
        numbers = sorted(n for p in parent.iterdir() if (n := _run_number(p, prefix)) is not None) \
            if parent.is_dir() else []
        held = (f"the runs of {algo} on {env_id} there: {', '.join(map(str, numbers))}" if numbers
                else f"{parent} holds no run of {algo} on {env_id}")
        raise ZooError(f"--exp-id {exp_id}: no run {run_dir} ({held}).")
    return run_dir


def find_checkpoint(algo: str, env_id: str, path: str | Path | None = None,
                    runs_root: str | Path = "runs", which: CheckpointChoice = None, *, shipped: bool = True) -> Path:
    """The checkpoint to play: `path` if given, else the latest local run, else (`shipped`) the
    shipped one. `which` picks among a run folder's checkpoints (`path` must then be a run
    folder)."""
    from zoo.checkpoint import checkpoint_file
    from zoo.errors import ZooError
    from zoo.paths import trained_dir

    if path is not None and Path(path).name == CHECKPOINTS_DIR_NAME and Path(path).is_dir():
        path = Path(path).parent  # RUN_DIR/checkpoints stands for its run, as for --resume
    if path is not None:
        refuse_rl_zoo_run(Path(path), f"--path {path}")
        refuse_folder_of_runs(Path(path), "--path", algo, env_id)
    if which is not None:
        flag = choice_flag(which)
        if path is not None:
            if not Path(path).is_dir():
                raise ZooError(f"{flag} picks a checkpoint in a run folder; --path {path} is not a folder (drop "
                               f"{flag} to play that file).")
            found = checkpoint_in_run(Path(path), which)
            if found is None:
                raise ZooError(f"{flag}: {path} has no such checkpoint{_periodic_steps(Path(path))}.")
            return found
        found = latest_checkpoint(runs_root, algo, env_id, which)
        if found is None:
            made_by = ("a run writes it at its evaluations, eval_freq > 0" if which == "best"
                       else "periodic ones need `zoo train --save-freq N`")
            raise ZooError(f"{flag}: no {algo} run for {env_id} under {Path(runs_root) / algo} has that checkpoint "
                           f"({made_by}; the shipped agents have only their final model).")
        return found
    if path is not None:
        if Path(path).is_dir() and not checkpoint_file(path).exists():
            _refuse_unfinished_run(Path(path))  # else reading it says there is no checkpoint
        return checkpoint_file(path)
    latest = latest_checkpoint(runs_root, algo, env_id)
    if latest is not None:
        return latest
    if not shipped:  # the runs folder was named: playing another agent would not be what was asked
        refuse_rl_zoo_run(Path(runs_root) / algo, f"-f/--runs-dir {runs_root}")
        raise ZooError(f"No {algo} run for {env_id} under {Path(runs_root) / algo} (-f/--runs-dir {runs_root}; the "
                       "agents shipped in trained/ are played without it).")
    shipped_agent = trained_dir() / algo / env_dir_name(env_id) / CHECKPOINT_NAME
    if shipped_agent.exists():
        return shipped_agent
    raise ZooError(
        f"No trained {algo} agent for {env_id}: none under {Path(runs_root) / algo} and none shipped "
        f"in trained/. Train one with `zoo train {algo} {env_id}`, or pass --path."
    )


def runs_in_folder(folder: Path) -> list[Path]:
    """The run folders (those with a config.yml) of a folder that holds runs instead of being
    one: runs/ppo (runs one level down) or runs/ (two levels: runs/<algo>/<env>_<n>), in path
    order; none for a run folder or anything else. RL Zoo's runs are not zoo's: the config.yml
    of its <env>/ folder sits beside its args.yml."""
    if not folder.is_dir() or (folder / CONFIG_NAME).is_file():
        return []
    runs = [config.parent for config in folder.glob(f"*/{CONFIG_NAME}")] or \
        [config.parent for config in folder.glob(f"*/*/{CONFIG_NAME}")]
    return sorted(run for run in runs if not (run / RL_ZOO_ARGS_NAME).is_file())


def refuse_rl_zoo_run(folder: Path, given: str) -> None:
    """RL Zoo's run folder (<algo>/<env>_<n>/ with its model <env>.zip and <env>/args.yml),
    or a folder of them, given where zoo's runs go: one error saying what it is, after `given`
    (the flag and value the user typed)."""
    from zoo.errors import ZooError

    if not folder.is_dir():
        return
    marks = list(folder.glob(f"*/{RL_ZOO_ARGS_NAME}")) or list(folder.glob(f"*/*/{RL_ZOO_ARGS_NAME}")) or \
        list(folder.glob(f"*/*/*/{RL_ZOO_ARGS_NAME}"))
    if marks and not runs_in_folder(folder) and not (folder / CHECKPOINT_NAME).is_file():
        raise ZooError(f"{given}: {marks[0].parent.parent} is an RL Zoo (Stable-Baselines3) run, not zoo's; "
                       "zoo does not load SB3's models, whose weights are pickles (which can run code).")


def refuse_folder_of_runs(folder: Path, flag: str, algo: str, env_id: str) -> None:
    """A folder that holds runs instead of being one (runs/ppo, runs/): one error naming its
    newest run of `algo` on `env_id` (else its newest run), instead of "no model.zip there" (or,
    for --resume, "it ended before its final save"). A run folder is one with its config.yml;
    runs sit one or two levels down."""
    from zoo.errors import ZooError

    if (folder / CHECKPOINT_NAME).is_file():
        return
    runs = runs_in_folder(folder)
    if runs:
        asked = [run for run in runs
                 if run.parent.name == algo and _run_number(run, env_dir_name(env_id) + "_") is not None]
        newest = max(asked or runs, key=lambda run: (run / CONFIG_NAME).stat().st_mtime)
        which = f"the newest of {algo} on {env_id}" if asked else "the newest"
        raise ZooError(f"{flag} {folder} holds {len(runs)} run folder(s) and is not one: name a run, e.g. {newest} "
                       f"({which}).")
    # agents without run files, as trained/ holds them: trained/dqn/CartPole-v1/model.zip
    agents = sorted({checkpoint.parent for pattern in (f"*/{CHECKPOINT_NAME}", f"*/*/{CHECKPOINT_NAME}")
                     for checkpoint in folder.glob(pattern)})
    if agents:
        asked = [agent for agent in agents if agent.name == env_dir_name(env_id) and agent.parent.name == algo]
        example = (asked or agents)[0]
        raise ZooError(f"{flag} {folder} holds {len(agents)} agent folder(s) and is not one: name one, e.g. {example}"
                       f"{f' ({algo} on {env_id})' if asked else ''}.")


def _refuse_unfinished_run(run_dir: Path) -> None:
    """A run folder without model.zip (still training, or killed before its final save) that
    holds other checkpoints: one error naming them."""
    from zoo.errors import ZooError

    held = [flag for flag, which in (("--load-best", "best"), ("--load-last-checkpoint", "last"))
            if checkpoint_in_run(run_dir, which) is not None]
    if held:
        raise ZooError(f"{run_dir} has no {CHECKPOINT_NAME} (still training, or ended before its final save); play "
                       f"what it holds with {' or '.join(held)}{_periodic_steps(run_dir)}.")


def _periodic_steps(run_dir: Path) -> str:
    """ " (its periodic checkpoints: steps 1000, 2000)", or "" when it has none."""
    steps = [step for step, _ in periodic_checkpoints(run_dir)]
    if len(steps) > 8:  # a long run's hundreds: its first few and its last
        return f" (its {len(steps)} periodic checkpoints: steps {', '.join(map(str, steps[:3]))}, ..., {steps[-1]})"
    return f" (its periodic checkpoints: steps {', '.join(map(str, steps))})" if steps else ""


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


def shipped_agents(algo: str) -> dict[str, dict[str, Any] | str]:
    """The agents shipped in trained/<algo>/: env id -> the evaluation their result.json records
    (mean_return, std_return, episodes), or "yes" where it records none."""
    import json

    from zoo.paths import trained_dir

    agents: dict[str, dict[str, Any] | str] = {}
    folder = trained_dir() / algo
    for run in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not (run / CHECKPOINT_NAME).is_file():
            continue
        try:
            result = json.loads((run / "result.json").read_text())
            evaluation = result["evaluation"]
            agents[str(result.get("env_id", run.name))] = {
                "mean_return": float(evaluation["mean_return"]), "std_return": float(evaluation["std_return"]),
                "episodes": int(evaluation["episodes"])}
        except (OSError, ValueError, KeyError, TypeError):
            agents[run.name] = "yes"  # the folder's name stands for the env id (ALE/Pong-v5's: ALE_Pong-v5)
    return agents
