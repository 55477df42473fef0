"""`zoo tune ALGO ENV`: hyperparameter search on Optuna (zoo/tune/study.py), the search space
as YAML (zoo/tune/space.py), and what a study leaves behind: trials.csv, the best trials, a
`--save-best` hyperparameter file and plots.
"""

from __future__ import annotations

import csv
import dataclasses
import multiprocessing
import multiprocessing.connection
import pickle
import signal
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from zoo.errors import ZooError, brief, brief_text
from zoo.files import flag_folder
from zoo.startup import call_in_own_process
from zoo.tune.study import TuneJob, load_job_space, open_storage, open_study, run_worker, study_names

if TYPE_CHECKING:
    import optuna

TRIALS_CSV = "trials.csv"

__all__ = ["TuneJob", "TuneResult", "tune"]


@dataclass
class TuneResult:
    study_name: str
    study_dir: Path
    counts: dict[str, int]
    best: list[dict[str, Any]]  # the best finished trials, best first
    trials_csv: Path
    saved_best: Path | None = None
    plots: list[Path] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    stopped_by: str | None = None  # SIGINT or SIGTERM: this command was interrupted (exit 130 / 143)
    unit: str = "mean return"  # what a trial's value is (the study's objective)


def require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ZooError("zoo tune needs Optuna: pip install 'zoo[tune]'.") from None


def tune(job: TuneJob, *, workers: int = 1, save_best: Path | None = None, plots: bool = True,
         top: int = 5, on_start: Callable[[], None] | None = None) -> TuneResult:
    """Run `workers` local worker processes on the study until it holds `job.n_trials` finished
    trials (0: only report on an existing study), then write its trials CSV and report.
    `on_start` is called once the job, its search space and its study are accepted, before
    the first trial: where the CLI says what it tunes."""
    require_optuna()
    from zoo.environments import check_env_arguments, check_env_id, import_env_packages, refuse_endless_episodes

    for flag, value, least in (("--workers", workers, 1), ("--trials", job.n_trials, 0),
                               ("--trial-seeds", job.trial_seeds, 1), ("--n-evaluations", job.n_evaluations, 1),
                               ("--eval-episodes", job.eval_episodes, 1)):
        if value < least:
            raise ZooError(f"{flag} must be at least {least}, got {value}.")
    import_env_packages(job.env_packages)
    check_env_id(job.env_id)
    for flag, env_kwargs in (("--env-kwargs", job.env_kwargs), ("--eval-env-kwargs", job.eval_env_kwargs)):
        check_env_arguments(job.env_id, env_kwargs, flag)
    if job.n_trials > 0:  # every trial evaluates: before any starts, as train's check would in each
        from zoo.config import resolve_hyperparams
        from zoo.tune.study import trial_overrides

        entry = resolve_hyperparams(job.spec, job.env_id, trial_overrides(job), job.hyperparams)
        refuse_endless_episodes(job.env_id, [(entry.env_kwarg_source("max_episode_steps"),
                                              entry.env_kwargs), ("--env-kwargs", job.env_kwargs),
                                             ("--eval-env-kwargs", job.eval_env_kwargs)],
                                "a trial's evaluations play", "({example}, or --eval-env-kwargs {example} for the "
                                "evaluations alone)")
    if not job.spec.learns_from_experience:
        raise ZooError(f"{job.spec.name} ({job.spec.family}) has no learning run to tune; zoo tune is for the "
                       "deep-RL algos.")
    space = load_job_space(job)  # every error of the space before any trial or process starts
    if job.trials_dir is not None and job.n_trials > 0:
        # before the study is made: a trial's own failure to make its run folder would name train's --out
        flag_folder(job.trials_dir, "--optimization-log-path", "each trial's runs go to its trial_NNNN/")
    if job.n_trials == 0 and job.journal is not None and not job.journal.exists():
        # only a report: never leave an empty study (and its folder) behind for a mistyped name
        check = "--study-name and --out" if job.storage is None else "--storage"
        raise ZooError(f"There is no study '{job.study_name}' in {job.where} to report on (--trials 0 only "
                       f"reports): check {check}.")
    study = open_study(job, open_storage(job), space, create=job.n_trials > 0)
    if job.goal_from_study:
        from zoo.tune.objectives import parse_objective

        stored = str(study.user_attrs.get("objective", "return"))
        try:
            goal = parse_objective(stored)
        except ZooError:  # a study file from elsewhere: name it, not the --objective nobody gave
            raise ZooError(f"Study '{job.study_name}' records an objective zoo does not know ({brief(stored)}): "
                           "it was not made by zoo tune, or its storage is damaged.") from None
        job = dataclasses.replace(job, goal=goal)
    if on_start is not None:
        on_start()
    stopped_by = None
    if job.n_trials > 0:
        stopped_by = run_worker(job, 0) if workers == 1 else _run_workers(job, workers)
    result = report(study, job, save_best=save_best, plots=plots, top=top)
    result.stopped_by = stopped_by
    return result


def _run_workers(job: TuneJob, workers: int) -> str | None:
    """Every worker in a process of its own, all started together (so they share the trials
    fairly); this one waits. Spawn, not fork: a forked copy of a process running torch threads
    can hang. Ctrl-C reaches the whole process group; a signal to this process alone (SIGTERM
    from `timeout` or a scheduler, `kill -INT`) is passed on to the workers as SIGTERM. Either
    way each worker stops after its step and records its trial. Returns the signal's name, or None."""
    from zoo.interrupt import ctrl_c_held_for_children, stop_on_interrupt, wait_passing_on

    context = multiprocessing.get_context("spawn")
    ready = context.Value("i", 0)  # how many have started up (zoo.tune.study.start_together)
    # each worker's process is ours: it imports torch as a `zoo` command does (zoo/startup.py)
    processes = [context.Process(target=call_in_own_process, kwargs={"ready": ready, "n_workers": workers},
                                 args=(pickle.dumps((run_worker, (job, index))),))
                 for index in range(workers)]
    with stop_on_interrupt() as stop:
        # Started with Ctrl-C held (blocked): a Ctrl-C during their seconds of imports used to
        # kill them mid-import (exit -2, reported as a worker error) or print a traceback; now
        # it waits until run_worker can stop cleanly, and the SIGTERM passed on below ends a
        # worker still importing quietly.
        with ctrl_c_held_for_children():
            for process in processes:
                process.start()
        passed_on = wait_passing_on(
            stop, lambda: [process for process in processes if process.is_alive()],
            lambda alive: multiprocessing.connection.wait([process.sentinel for process in alive], timeout=0.5))
    for process in processes:
        process.join()
    # a worker still starting up when the signal came has no handler yet and no trial: it just ends
    stopped_early = -signal.SIGTERM if passed_on else 0
    failed = [index for index, process in enumerate(processes) if process.exitcode not in (0, None, stopped_early)]
    if failed:
        raise ZooError(f"tune worker(s) {failed} ended with an error (exit codes "
                       f"{[processes[i].exitcode for i in failed]}); see their messages above.")
    return stop.signal_name if stop.requested else None


def report(study: optuna.Study, job: TuneJob, *, save_best: Path | None, plots: bool, top: int) -> TuneResult:
    from optuna.trial import TrialState

    from zoo.tune.study import counts

    trials = study.get_trials(deepcopy=False)
    csv_path = write_trials_csv(trials, job.study_dir / TRIALS_CSV)
    sign = -1.0 if job.goal.direction == "maximize" else 1.0  # best first
    finished = sorted((t for t in trials if t.state == TrialState.COMPLETE and t.value is not None),
                      key=lambda t: sign * float(t.value or 0.0))
    best = [{"number": t.number, "value": t.value, "params": t.params, "steps": t.user_attrs.get("steps"),
             "seconds": t.user_attrs.get("seconds"), "run_dirs": t.user_attrs.get("run_dirs", []),
             "config": t.user_attrs.get("config"), "returns": t.user_attrs.get("returns")} for t in finished[:top]]
    result = TuneResult(job.study_name, job.study_dir, counts(study), best, csv_path, unit=job.goal.unit)
    if save_best is not None:
        if not best or not best[0]["config"]:
            raise ZooError(f"Study '{job.study_name}' has no complete trial yet: nothing to save to {save_best}.")
        result.saved_best = write_best(best[0], job, entry_of(best[0]["config"], study, job), save_best)
    if plots and finished:
        result.plots, note = write_plots(study, job.study_dir)
        result.notes += [note] if note else []
    return result


def write_trials_csv(trials: list[Any], path: Path) -> Path:
    from zoo.files import atomic_path

    names = sorted({name for t in trials for name in t.params})
    with atomic_path(path) as temporary, temporary.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["number", "state", "value", *names, "steps", "seconds", "final_returns", "solved", "worker",
                         "fail_reason"])
        for t in trials:
            writer.writerow([t.number, t.state.name, "" if t.value is None else t.value,
                             *[t.params.get(name, "") for name in names], t.user_attrs.get("steps", ""),
                             t.user_attrs.get("seconds", ""), _joined(t.user_attrs.get("returns")),
                             _joined(t.user_attrs.get("solved")), t.user_attrs.get("worker", ""),
                             t.system_attrs.get("fail_reason", "")])
    return path


def _joined(values: Any) -> str:
    """A per-seed list as one CSV cell: '500.0 487.5', 'True False'."""
    if not isinstance(values, list):
        return ""
    return " ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in values)


def entry_of(config: dict[str, Any], study: optuna.Study, job: TuneJob) -> dict[str, Any]:
    """A trial's whole resolved config as an entry that trains exactly it: the env arguments its
    study recorded (--env-kwargs, --hp env_kwargs, the entry's), and, for a time objective, whose
    trials stopped at the target, that stop."""
    from zoo.config import ENV_KWARGS_KEY, resolve_hyperparams

    recorded = study.user_attrs.get("env_kwargs")  # a study made before 2026-11-27 did not record them
    env_kwargs = (recorded if isinstance(recorded, dict)
                  else resolve_hyperparams(job.spec, job.env_id, None, job.hyperparams).env_kwargs)
    entry = dict(config)
    if job.goal.target is not None:
        entry["stop_at_return"] = job.goal.target
    if env_kwargs:
        entry[ENV_KWARGS_KEY] = env_kwargs
    return entry


def write_best(best: dict[str, Any], job: TuneJob, entry: dict[str, Any], path: Path) -> Path:
    """A hyperparameter file whose entry for the env is the best trial's (entry_of), so that
    `zoo train ALGO ENV --hyperparams FILE` trains exactly that config."""
    from zoo.files import atomic_path

    header = (f"# zoo tune {job.spec.name} {job.env_id}: study '{job.study_name}', trial {best['number']}, "
              f"{job.goal.unit} {best['value']:.2f} (--objective {job.goal.label}).\n"
              f"# Train it: zoo train {job.spec.name} {job.env_id} "
              f"--hyperparams {path}\n")
    with atomic_path(path) as temporary:
        temporary.write_text(header + yaml.safe_dump({job.env_id.split(':', 1)[-1]: entry}, sort_keys=False))
    return path


def trial_entry(job: TuneJob, number: int) -> dict[str, Any]:
    """What `zoo train ALGO ENV --trial-id N` trains (RL Zoo's flag, with --study-name and
    --storage): trial N's entry (entry_of), what `--save-best` writes for the best trial. The
    study must be of ALGO on ENV; its values are checked as any entry's when the run resolves them."""
    from optuna.trial import TrialState

    from zoo.tune.objectives import parse_objective

    require_optuna()
    check = "--study-name and --out" if job.storage is None else "--study-name and --storage"
    missing = ZooError(f"--trial-id {number}: there is no study '{job.study_name}' in {job.where}; check {check}.")
    if job.journal is not None and not job.journal.exists():
        raise missing  # before opening it: opening a journal creates it
    storage = open_storage(job)
    if job.study_name not in study_names(storage):
        raise missing
    study = open_study(job, storage, create=False)  # refuses another algo or env
    trials = study.get_trials(deepcopy=False)
    if not 0 <= number < len(trials):
        held = f"trials 0-{len(trials) - 1}" if trials else "no trial yet"
        raise ZooError(f"--trial-id {number}: study '{job.study_name}' holds {held}.")
    trial = trials[number]
    config = trial.user_attrs.get("config")
    if not isinstance(config, dict):
        reason = trial.system_attrs.get("fail_reason") if trial.state == TrialState.FAIL else None
        state = trial.state.name + (f" ({brief_text(str(reason), 120)})" if reason else "")
        raise ZooError(f"--trial-id {number}: trial {number} of study '{job.study_name}' is {state} and "
                       "recorded no config (it finished no training); choose another (zoo tune ... --trials 0 lists "
                       "the best).")
    try:
        goal = parse_objective(str(study.user_attrs.get("objective", "return")))
    except ZooError:
        raise ZooError(f"--trial-id {number}: study '{job.study_name}' records an objective zoo does not know: it was "
                       "not made by zoo tune, or its storage is damaged.") from None
    return entry_of(config, study, dataclasses.replace(job, goal=goal))


def write_plots(study: optuna.Study, folder: Path) -> tuple[list[Path], str | None]:
    """Optuna's optimisation history and parameter importances as PNG (the `plot` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from optuna.exceptions import ExperimentalWarning
        from optuna.visualization import matplotlib as optuna_plots
    except ImportError:
        return [], "plots need matplotlib: pip install 'zoo[plot]'"
    written: list[Path] = []
    for name, draw in (("history.png", optuna_plots.plot_optimization_history),
                       ("importances.png", optuna_plots.plot_param_importances)):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                warnings.simplefilter("ignore", ExperimentalWarning)  # "experimental" since Optuna 2.2
                draw(study)
        except (ValueError, RuntimeError) as error:  # e.g. importances of fewer than 2 trials
            plt.close("all")
            return written, f"{name}: {error}"
        # Optuna warns (from deep inside, as a UserWarning) and draws every importance equal when
        # too few trials finished: a figure that says nothing, not written
        if any("too small to compute importances" in str(warning.message) for warning in caught):
            plt.close("all")
            return written, f"{name} not drawn: importances need at least 2 finished trials"
        figure = plt.gcf()
        figure.tight_layout()
        figure.savefig(folder / name, dpi=100)
        plt.close(figure)
        written.append(folder / name)
    return written, None
