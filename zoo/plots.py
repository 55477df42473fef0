"""`zoo plot RUN_DIR...`: pictures of runs, one PNG per kind of run (matplotlib, `plot` extra).

  learning runs  return against env steps or wall-clock seconds (`--x`); the runs of one algo
                 on one env are its seeds: a line for their mean and a band for +- std,
                 several algos (and SB3's runs kept by `zoo benchmark`, or RL Zoo's own log
                 folders: zoo/rl_zoo_logs.py) in one figure. When
                 the runs have periodic evaluations (evaluations.csv) their mean return is the
                 solid line, as in RL Zoo's plots, and the training episodes the dashed one:
                 an epsilon-greedy or noisy training return understates the policy
  bandit runs    cumulative regret against pulls, one line per solver (mean over seeds)
  planning runs  the value function as a heatmap with the greedy policy as arrows, per run

Training returns are smoothed over a window of episodes before seeds are averaged on a common
grid from the earliest point of any seed to the last; a seed that ended early (it solved the
task and stopped) holds its last value.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ZooError, brief
from zoo.files import atomic_path, load_yaml, read_text
from zoo.rl_zoo_logs import NothingLogged, RlZooLog, is_rl_zoo_run, read_rl_zoo_run, rl_zoo_runs_in
from zoo.runs import CONFIG_NAME, PROGRESS_NAME, runs_in_folder

EVALUATIONS_NAME = "evaluations.csv"  # zoo.callbacks' (not imported: plotting needs no torch)
LIBRARY_LABELS = {"zoo": "", "sb3": "SB3 "}  # who trained a run: zoo, or SB3 in `zoo benchmark`
X_AXES = {"steps": ("step", "env steps"), "seconds": ("time", "wall-clock seconds since training started"),
          "episodes": ("episode", "training episodes")}
X_ALIASES = {"time": "seconds"}  # RL Zoo's plot_train -x names
CURVES = ("auto", "evaluation", "training")
FIGURE_FORMATS = (".png", ".svg", ".pdf")

SMOOTHING_EPISODES = 10
MAX_LOG_BYTES = 1024 * 2**20  # progress.csv of a very long run (tens of millions of episodes would be more)
GRID_POINTS = 200


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise ZooError("Plots need matplotlib: pip install 'zoo[plot]'.") from None
    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    return plt


def _read_run(run_dir: Path) -> tuple[dict, list[dict]]:
    """A run folder's config and logged rows, read as untrusted data: nothing in it is imported
    (the env id is a label here), every field the plot uses is checked."""
    from zoo.registry import ALGOS

    config_path, progress_path = run_dir / CONFIG_NAME, run_dir / PROGRESS_NAME
    if not run_dir.exists():
        raise ZooError(f"{run_dir} does not exist.")
    if not run_dir.is_dir() or not config_path.exists() or not progress_path.exists():
        raise ZooError(f"{run_dir} is not a run directory (it needs {CONFIG_NAME} and {PROGRESS_NAME}).")
    config = load_yaml(read_text(config_path, "a run's config.yml"), str(config_path))
    if not isinstance(config, dict):
        raise ZooError(f"{config_path} is not a run's config (a mapping with algo and env_id).")
    algo, env_id, library = config.get("algo"), config.get("env_id"), config.get("library", "zoo")
    if not isinstance(algo, str) or algo not in ALGOS:
        raise ZooError(f"{config_path}: 'algo' is {brief(algo)}, not an algorithm of this zoo.")
    if not isinstance(env_id, str) or not env_id:
        raise ZooError(f"{config_path}: 'env_id' is {brief(env_id)}, not an env id.")
    if library not in LIBRARY_LABELS:
        raise ZooError(f"{config_path}: 'library' is {brief(library)}, not one of {', '.join(LIBRARY_LABELS)}.")
    seed = config.get("seed")  # told apart only, to label runs as seeds (an odd value: unknown)
    return ({"algo": algo, "env_id": env_id, "library": library, "seed": seed if isinstance(seed, int) else None},
            _read_csv(progress_path, "a run's progress.csv"))


def _read_csv(path: Path, what: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(read_text(path, what, limit=MAX_LOG_BYTES))))


def _column(rows: list[dict], name: str, path: Path) -> np.ndarray:
    """One numeric column of a log, or one error naming the file and the column."""
    try:
        values = np.array([float(row[name]) for row in rows])
    except KeyError:
        raise ZooError(f"{path} has no '{name}' column; it is not a zoo run's log.") from None
    except (TypeError, ValueError):
        raise ZooError(f"{path}: the '{name}' column holds something that is not a number.") from None
    if not np.isfinite(values).all():
        raise ZooError(f"{path}: the '{name}' column holds NaN or infinite values.")
    return values


def _family(algo: str) -> str:
    from zoo.registry import get_algo

    return get_algo(algo).family


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(window, len(values)))
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    smoothed = np.empty_like(values)
    for i in range(len(values)):  # trailing mean over the last `window` episodes
        start = max(0, i + 1 - window)
        smoothed[i] = (cumulative[i + 1] - cumulative[start]) / (i + 1 - start)
    return smoothed


def _mean_and_std(curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Curves (x, y) of several seeds on one grid from the earliest x to the last; a curve is
    held at its first value before it starts and at its last after it ends (np.interp)."""
    start = min(x[0] for x, _ in curves)
    end = max(x[-1] for x, _ in curves)
    grid = np.linspace(start, end, GRID_POINTS) if end > start else np.array([end])
    values = np.stack([np.interp(grid, x, y) for x, y in curves])
    return grid, values.mean(0), values.std(0)


@dataclass
class LearningRun:
    training: tuple[np.ndarray, np.ndarray] | None  # (x, smoothed episode return); None: not logged
    evaluation: tuple[np.ndarray, np.ndarray] | None  # (x, mean evaluation return), when it has any
    seed: int | None = None  # its config's, when a whole number


def _learning_run(run_dir: Path, rows: list[dict], x: str, seed: int | None, window: int) -> LearningRun:
    progress = run_dir / PROGRESS_NAME
    steps = _column(rows, "step", progress)
    along = _column(rows, X_AXES[x][0], progress)
    training = (along, _smooth(_column(rows, "return", progress), window))
    evaluations_path = run_dir / EVALUATIONS_NAME
    evaluation = None
    if evaluations_path.is_file():
        evaluation_rows = _read_csv(evaluations_path, "a run's evaluations.csv")
        if evaluation_rows:
            returns = _column(evaluation_rows, "mean_return", evaluations_path)
            if x == "episodes":  # evaluations.csv counts steps: the episodes the training had ended by then
                evaluation = (np.interp(_column(evaluation_rows, "step", evaluations_path), steps, along), returns)
            else:
                evaluation = (_column(evaluation_rows, X_AXES[x][0], evaluations_path), returns)
    return LearningRun(training, evaluation, seed)


def _rl_zoo_learning_run(log: RlZooLog, x: str, window: int) -> LearningRun:
    """An RL Zoo run's curves; its evaluations against seconds (or episodes) at the clock (or
    count) its training episodes give for those env steps (evaluations.npz keeps neither)."""
    along = {"steps": log.steps, "seconds": log.seconds, "episodes": np.arange(1.0, len(log.returns) + 1)}[x]
    training = (along, _smooth(log.returns, window)) if len(log.returns) else None
    evaluation = log.evaluation
    if evaluation is not None and x != "steps":
        if not len(log.returns):
            raise ZooError(f"--x {x}: RL Zoo's run of {log.algo} on {log.env_id} has evaluations but no monitor "
                           "file, so no clock or episodes; plot it against steps.")
        evaluation = (np.interp(evaluation[0], log.steps, along), evaluation[1])
    return LearningRun(training, evaluation, log.seed)


def plot_runs(run_dirs: list[str | Path], out: str | Path, *, x: str = "steps", curves: str = "auto",
              on_skip: Callable[[Path, str], None] | None = None, window: int = SMOOTHING_EPISODES) -> list[Path]:
    """Write the figures for `run_dirs` next to `out` (a .png, .svg or .pdf path: matplotlib's
    format by the suffix, for a page or a paper); returns the files written.
    `x`: steps, seconds or episodes (the training episodes ended; `time`, RL Zoo's name, is
    seconds); `curves`: auto (the evaluations when the runs have them, with the training
    episodes dashed), evaluation or training; `window`: the training episodes each point of a
    training curve averages (RL Zoo's --episode-window). A run found in a folder of runs that has
    nothing to draw (no episode logged yet, a planner on an env that is no grid) is left out and
    handed to `on_skip` with the reason; a run named itself is an error."""
    plt = _matplotlib()
    out = Path(out)
    if out.suffix.lower() not in FIGURE_FORMATS:
        raise ZooError(f"--out must name a {', '.join(FIGURE_FORMATS)} file, got '{out}'.")
    if out.is_dir():
        raise ZooError(f"--out {out} is a folder; name a {', '.join(FIGURE_FORMATS)} file.")
    x = X_ALIASES.get(x, x)
    if x not in X_AXES:
        raise ZooError(f"--x is steps, seconds or episodes, got {brief(x)}.")
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 1_000_000:
        raise ZooError(f"--window is a number of episodes from 1 to 1000000, got {brief(window)}.")
    if curves not in CURVES:
        raise ZooError(f"--curves is one of {', '.join(CURVES)}, got {brief(curves)}.")
    if not run_dirs:
        raise ZooError("Name at least one run directory (runs/<algo>/<env>_<n>).")
    # a folder of runs (runs/ppo, runs/) stands for its runs, as RL Zoo's plot scripts take a log
    # folder (whose runs, zoo's or RL Zoo's, plot alike)
    named = [Path(path) for path in run_dirs]
    found = {path: runs_in_folder(path) or rl_zoo_runs_in(path) for path in named}
    in_folders = {run for runs in found.values() for run in runs}
    run_dirs = [run for path in named for run in found[path] or [path]]
    learning: dict[tuple[str, str, str], list[LearningRun]] = defaultdict(list)
    bandits: dict[tuple[str, str], list] = defaultdict(list)
    planning: list[tuple[Path, dict]] = []
    skipped = []
    for run_dir in map(Path, run_dirs):
        if is_rl_zoo_run(run_dir):  # RL Zoo's own logs (its Monitor and EvalCallback files): SB3's runs
            try:
                log = read_rl_zoo_run(run_dir)
            except NothingLogged as error:
                if run_dir not in in_folders:
                    raise
                skipped.append((run_dir, error.reason))
                continue
            learning[("sb3", log.algo, log.env_id)].append(_rl_zoo_learning_run(log, x, window))
            continue
        config, rows = _read_run(run_dir)
        algo, env_id = config["algo"], config["env_id"]
        family = _family(algo)
        if family == "planning":
            planning.append((run_dir, config))
        elif not rows and run_dir in in_folders:
            skipped.append((run_dir, NothingLogged(run_dir).reason))
        elif not rows:
            raise NothingLogged(run_dir)
        elif family == "bandit":
            bandits[(algo, env_id)].append(_column(rows, "cumulative_regret", run_dir / PROGRESS_NAME))
        else:
            learning[(config["library"], algo, env_id)].append(_learning_run(run_dir, rows, x, config["seed"], window))

    written = []
    if learning:
        written.append(_plot_learning(plt, learning, x, curves, out, window))
    if bandits:
        figure, axes = plt.subplots(figsize=(8, 5))
        for (algo, _env_id), runs in sorted(bandits.items()):
            length = min(len(r) for r in runs)
            regret = np.stack([r[:length] for r in runs])
            pulls = np.arange(1, length + 1)
            axes.plot(pulls, regret.mean(0), label=f"{algo} ({len(runs)} run{'s' if len(runs) > 1 else ''})")
            if len(runs) > 1:
                axes.fill_between(pulls, regret.mean(0) - regret.std(0), regret.mean(0) + regret.std(0), alpha=0.2)
        axes.set_xlabel("pulls")
        axes.set_ylabel("cumulative regret")
        axes.set_title(f"Bandit solvers on {', '.join(sorted({env for _, env in bandits}))}")
        axes.legend()
        axes.grid(alpha=0.3)
        written.append(_save(plt, figure, out if not written else out.with_name(f"{out.stem}_regret{out.suffix}")))
    for run_dir, config in planning:
        path = out if not written else out.with_name(f"{out.stem}_{config['algo']}_{run_dir.name}{out.suffix}")
        try:
            written.append(_plot_planning(plt, run_dir, config, path))
        except _NoMap as error:
            if run_dir not in in_folders:
                raise
            skipped.append((run_dir, error.reason))
    for run_dir, reason in skipped:
        if on_skip is not None:
            on_skip(run_dir, reason)
    if not written:
        raise ZooError(f"Nothing to plot: no run in {', '.join(map(str, named))} has anything to draw yet "
                       f"({skipped[0][0]}: {skipped[0][1]}).")
    return written


class _NoMap(ZooError):
    """A planner's run on an env that is not a grid: no value map to draw."""

    def __init__(self, run_dir: Path, reason: str):
        super().__init__(f"{run_dir}: {reason}.")
        self.reason = reason


def _plot_learning(plt: Any, learning: dict[tuple[str, str, str], list[LearningRun]], x: str, curves: str,
                   out: Path, window: int) -> Path:
    """One axes per env (as RL Zoo's plots: CartPole's 0..500 beside Pendulum's -1600..0 on one
    scale flattened both), side by side; an algorithm keeps its colour across them."""
    any_evaluation = any(run.evaluation is not None for runs in learning.values() for run in runs)
    show_evaluation = curves == "evaluation" or (curves == "auto" and any_evaluation)
    show_training = curves != "evaluation"
    env_ids = sorted({env_id for _, _, env_id in learning})
    colors = {key: f"C{index % 10}" for index, key in enumerate(sorted({(library, algo)
                                                                        for library, algo, _ in learning}))}
    figure, grid_of_axes = plt.subplots(1, len(env_ids), figsize=(8 if len(env_ids) == 1 else 6 * len(env_ids), 5),
                                        squeeze=False)
    drawn = False
    for axes, env_id in zip(grid_of_axes[0], env_ids):
        for (library, algo, run_env_id), runs in sorted(learning.items()):
            if run_env_id != env_id:
                continue
            color = colors[(library, algo)]
            # runs of one seed (a folder of runs holds reruns and resumes), or of seeds not known,
            # are counted as runs
            seeds = {run.seed for run in runs}
            unit = "seed" if len(runs) == 1 or (None not in seeds and len(seeds) == len(runs)) else "run"
            name = f"{LIBRARY_LABELS[library]}{algo} on {env_id} ({len(runs)} {unit}{'s' if len(runs) > 1 else ''})"
            evaluated = [run.evaluation for run in runs if run.evaluation is not None]
            if show_evaluation and evaluated:
                grid, mean, std = _mean_and_std(evaluated)
                axes.plot(grid, mean, color=color, marker="." if len(grid) < 40 else None, label=f"{name}: evaluation")
                axes.fill_between(grid, mean - std, mean + std, color=color, alpha=0.2)
                drawn = True
            trained = [run.training for run in runs if run.training is not None]
            if show_training and trained:
                grid, mean, std = _mean_and_std(trained)
                dashed = show_evaluation and bool(evaluated)
                axes.plot(grid, mean, color=color, linestyle="--" if dashed else "-", alpha=0.6 if dashed else 1.0,
                          marker="o" if len(grid) == 1 else None,  # one episode: a line of one point draws nothing
                          label=f"{name}: training episodes" if dashed or show_evaluation else name)
                if not dashed:
                    axes.fill_between(grid, mean - std, mean + std, color=color, alpha=0.2)
                drawn = True
        axes.set_xlabel(X_AXES[x][1])
        axes.set_title(env_id if len(env_ids) > 1 else "Learning curves (mean ± std over seeds)")
        if axes.get_legend_handles_labels()[0]:  # --curves evaluation may leave an env's runs nothing to draw
            axes.legend(fontsize="small")
        axes.grid(alpha=0.3)
    if not drawn and curves == "training":  # RL Zoo's runs may hold evaluations alone
        raise ZooError("--curves training: none of these runs logged training episodes (an RL Zoo run without "
                       "its monitor files); plot --curves evaluation.")
    if not drawn:
        raise ZooError("--curves evaluation: none of these runs has evaluations (evaluations.csv); "
                       "train with eval_freq > 0, or plot --curves training.")
    grid_of_axes[0][0].set_ylabel(f"return (training: mean of last {window} episodes)" if show_training
                                  else "mean evaluation return")
    if len(env_ids) > 1:
        figure.suptitle("Learning curves (mean ± std over seeds)")
    return _save(plt, figure, out)


def _plot_planning(plt: Any, run_dir: Path, config: dict, path: Path) -> Path:
    from zoo.agents.dynamic_programming import DynamicProgrammingAgent
    from zoo.build import env_of, load_agent
    from zoo.checkpoint import CHECKPOINT_NAME
    from zoo.grid import grid_labels

    agent = load_agent(run_dir / CHECKPOINT_NAME)
    if not isinstance(agent, DynamicProgrammingAgent):
        raise ZooError(f"{run_dir} holds a {agent.algo} agent, which has no value function to draw.")
    env = env_of(agent).make()
    labels = grid_labels(env, agent.policy)
    env.close()
    if labels is None:
        raise _NoMap(run_dir, f"{config['env_id']} is not a grid, so its value function has no map to draw")
    shape = (len(labels), len(labels[0]))
    values = np.asarray(agent.values).reshape(shape)
    figure, axes = plt.subplots(figsize=(max(4, shape[1] * 0.8), max(3, shape[0] * 0.8)))
    image = axes.imshow(values, cmap="viridis")
    figure.colorbar(image, ax=axes, label="V(s)")
    for row, cells in enumerate(labels):
        for col, text in enumerate(cells):
            axes.text(col, row, text, ha="center", va="center", color="white", fontsize=12)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(f"{config['algo']} on {config['env_id']}: V(s) and the greedy policy")
    return _save(plt, figure, path)


def _save(plt, figure, path: Path) -> Path:
    figure.tight_layout()
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=100, format=path.suffix.lower().lstrip(".") or "png")
    finally:
        plt.close(figure)
    return path
