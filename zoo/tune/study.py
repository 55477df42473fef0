"""`zoo tune`: hyperparameter search on Optuna, by worker processes that share one study.

Storage: by default an embedded journal file (Optuna's JournalFileBackend) under the study
folder, which several local processes append to without lock errors; with `--storage URL`
any database Optuna takes (PostgreSQL: `postgresql+psycopg://USER@HOST/DB`), which workers on
many machines join by running the same command.

How many trials: `--trials N` counts COMPLETE and PRUNED trials study-wide. A worker starts a
trial only while fewer than N are complete, pruned or running, and a trial that finds N
others ahead of it (two workers asked at once) ends at once as FAIL "surplus", so the study
stops at exactly N finished trials however many workers and machines run it.

Faults: each trial records its owner (host, pid and its own number, in one write); a worker
fails the RUNNING trials of dead processes on its own host and queues their parameters
again. On a database, heartbeats (`--heartbeat`, `--grace`) do the same across machines
(Optuna's RetryHeartbeatStaleTrialCallback). Ctrl-C or SIGTERM stops a worker after its
current training step; its trial is recorded FAIL "interrupted".
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import socket
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.callbacks import Evaluation
from zoo.errors import ZooError, brief, brief_text
from zoo.interrupt import StopFlag, ctrl_c_released, stop_on_interrupt
from zoo.registry import AlgoSpec, get_algo
from zoo.tune.objectives import Goal, SolveClock, TrialWatch
from zoo.tune.space import SearchSpace

if TYPE_CHECKING:
    import optuna

EVAL_SEED_OFFSET = 10_000  # the final policy is judged on fresh episodes, as in zoo benchmark
POLL_SECONDS = 1.0
MAX_JOURNAL_BYTES = 2**30  # a journal file read whole (~400k trials of a DQN study)
SETTING_ATTR = "setting"  # the study's user attr: what its trials share (study_setting)
OWNER_ATTR = "owner"  # the trial's user attr {host, pid, trial}: who runs it (reclaim_dead_local_trials)
STARTUP_WAIT_SECONDS = 60.0  # how long started workers wait for the others to start


@dataclass(frozen=True)
class TuneJob:
    """What every worker needs; plain data, so that spawned processes receive it whole."""

    algo: str
    env_id: str
    n_trials: int
    study_name: str
    study_dir: Path
    storage: str | None = None
    timeout: float | None = None
    n_timesteps: int | None = None
    eval_episodes: int = 10
    trial_seeds: int = 1
    sampler: str = "tpe"
    pruner: str = "median"
    search: str | None = None
    seed: int = 0
    n_startup_trials: int = 5
    n_evaluations: int = 5
    hyperparams: str | None = None
    env_packages: tuple[str, ...] = ()
    device: str = "cpu"
    heartbeat_interval: int = 10
    grace_period: int = 30
    overrides: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # --env-kwargs: every trial's env, over the entry's
    eval_env_kwargs: dict[str, Any] = field(default_factory=dict)  # the evaluations' envs alone (RL Zoo's flag)
    goal: Goal = Goal()  # --objective: the mean return, or the time (steps) to reach a return
    goal_from_study: bool = False  # --trials 0 without --objective: report by the study's own objective
    trials_dir: Path | None = None  # --optimization-log-path (RL Zoo's): where this machine's trials' runs go

    @property
    def trial_runs_dir(self) -> Path:
        """Where each trial's runs go, trial_NNNN/ a trial: the study folder's trials/ by default."""
        return self.study_dir / "trials" if self.trials_dir is None else self.trials_dir

    @property
    def spec(self) -> AlgoSpec:
        return get_algo(self.algo)

    @property
    def journal(self) -> Path | None:
        """The journal file of a study on Optuna's embedded store: the study folder's by default,
        or `--storage FILE.log` (RL Zoo's spelling of it: `--storage logs/demo.log`, a file that
        processes sharing a disk append to). None for a database URL."""
        if self.storage is None:
            return self.study_dir / "journal.log"
        if "://" not in self.storage and self.storage.endswith(".log"):
            return Path(self.storage)
        return None

    @property
    def where(self) -> str:
        """The storage, as messages name it (without a database password)."""
        return str(self.study_dir) if self.storage is None else f"--storage {_without_password(self.storage)}"


class TrialFailed(Exception):
    """A trial that cannot give a value: diverged, surplus, or broken by its config."""


class TrialInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: Optuna records the trial FAIL, as for a KeyboardInterrupt, and the
    worker stops."""


# ---- storage and study -------------------------------------------------------------------


def open_storage(job: TuneJob) -> Any:
    import optuna

    if job.journal is not None:
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        if job.storage is None:
            job.study_dir.mkdir(parents=True, exist_ok=True)
        elif not job.journal.parent.is_dir() or job.journal.is_dir():
            raise ZooError(f"{job.where}: {'it is a folder' if job.journal.is_dir() else 'its folder does not exist'}; "
                           "a journal file (FILE.log) goes in an existing folder.")
        # Optuna replays the whole file into memory: a file named by --storage may be anything
        if job.journal.is_file() and job.journal.stat().st_size > MAX_JOURNAL_BYTES:
            raise ZooError(f"{job.journal}: larger than the {MAX_JOURNAL_BYTES >> 20} MiB of journal zoo reads.")
        try:
            return JournalStorage(JournalFileBackend(str(job.journal)))
        except OSError as error:
            raise ZooError(f"{job.where}: cannot open it ({error.strerror or error}).") from None
        except Exception as error:  # its lines replayed: JSON of another shape, another program's file
            raise ZooError(f"{job.journal}: not an Optuna journal, or a damaged one ({type(error).__name__}: "
                           f"{_first_line(error)}).") from None
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    assert job.storage is not None  # a database URL (journal is None)
    where = job.where
    if "://" not in job.storage:
        raise ZooError(f"{where}: neither a database URL (postgresql+psycopg://USER@HOST/DB, sqlite:///FILE) nor a "
                       "journal file (FILE.log).")
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna since 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(job.storage, heartbeat_interval=job.heartbeat_interval,
                              grace_period=job.grace_period,
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
                              engine_kwargs={"pool_pre_ping": True})
    except ModuleNotFoundError as error:
        raise ZooError(f"{where}: its database driver is not installed ({error.name}); for PostgreSQL: "
                       "pip install 'zoo[tune]' (psycopg).") from None
    except ImportError:  # SQLAlchemy knows the database, no driver for it is installed (mysql://)
        raise ZooError(f"{where}: no driver for that database is installed; zoo tune's are PostgreSQL's "
                       "(postgresql://USER@HOST/DB, pip install 'zoo[tune]') and SQLite's (sqlite:///FILE).") from None
    except (ValueError, optuna.exceptions.StorageInternalError) as error:
        raise ZooError(f"{where}: cannot open it ({_first_line(error)}).") from None
    except Exception as error:  # SQLAlchemy's: no such host, refused, bad URL, no such database...
        raise ZooError(f"{where}: cannot open it ({type(error).__name__}: {_first_line(error)}).") from None


def sampler_seed(job: TuneJob, worker: int) -> int:
    """`--seed` itself for worker 0 of a study on the embedded store (one such worker gives the
    same trials every run); any other worker, here or on another machine, draws a stream of
    its own, or every worker would propose the same parameters."""
    if worker == 0 and job.storage is None:  # a --storage FILE.log may be shared across machines too
        return job.seed
    return zlib.crc32(f"{job.seed}/{socket.gethostname()}/{os.getpid()}/{worker}".encode())


class _OneLine(logging.Filter):
    """Optuna logs a failed trial's whole traceback (a refused config, an interrupt); its
    one-line message already names the error, and zoo prints no tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


def quiet_optuna() -> None:
    """Warnings and errors only (our own table reports the trials), one line each."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for handler in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, _OneLine) for f in handler.filters):
            handler.addFilter(_OneLine())


def open_study(job: TuneJob, storage: Any, space: SearchSpace | None = None, worker: int = 0, *,
               create: bool = True) -> optuna.Study:
    """Create the study or join it (`create=False`: only join); refuse one made for another algo
    or env. A new study's first trial is the shipped entry's parameters (when the space holds any)."""
    import optuna

    quiet_optuna()
    if not create and job.study_name not in study_names(storage):
        raise ZooError(f"There is no study '{job.study_name}' in {job.where} to report on (--trials 0 only reports): "
                       "check --study-name.")
    seed = sampler_seed(job, worker)
    sampler: optuna.samplers.BaseSampler = (
        optuna.samplers.RandomSampler(seed=seed) if job.sampler == "random"
        else optuna.samplers.TPESampler(seed=seed, n_startup_trials=job.n_startup_trials))
    try:
        study = optuna.create_study(study_name=job.study_name, storage=storage, direction=job.goal.direction,
                                    sampler=sampler, pruner=make_pruner(job), load_if_exists=True)
    except Exception as error:
        raise ZooError(f"Cannot open study '{job.study_name}': {type(error).__name__}: {_first_line(error)}") \
            from None
    attrs = study.user_attrs
    # a new study has no attrs yet; one made before --objective existed maximised the mean return
    objective = attrs.get("objective", "return" if "algo" in attrs else job.goal.label)
    if objective != job.goal.label and not job.goal_from_study:
        raise ZooError(f"Study '{job.study_name}' optimises {brief_text(objective)}, not --objective "
                       f"{job.goal.label}. Choose another --study-name.")
    if "algo" in attrs and (attrs["algo"], attrs["env_id"]) != (job.spec.name, job.env_id):
        raise ZooError(f"Study '{job.study_name}' tunes {attrs['algo']} on {attrs['env_id']}, not "
                       f"{job.spec.name} on {job.env_id}. Choose another --study-name.")
    # the env's arguments make another problem as much as another env id does: its trials' values
    # would not compare (a study made before this was recorded is joined as before)
    env_kwargs = json.loads(json.dumps(_study_env_kwargs(job)))
    eval_env_kwargs = json.loads(json.dumps(job.eval_env_kwargs))
    for key, value, flags in (("env_kwargs", env_kwargs, "--env-kwargs, --hp env_kwargs, the entry's"),
                              ("eval_env_kwargs", eval_env_kwargs, "--eval-env-kwargs")):
        if key in attrs and attrs[key] != value and job.n_trials > 0:
            raise ZooError(f"Study '{job.study_name}' tunes with the {key} {brief(attrs[key])}, not {brief(value)} "
                           f"({flags}). Choose another --study-name.")
    setting = study_setting(job, space) if space is not None else None
    if setting is not None and SETTING_ATTR in attrs and job.n_trials > 0:
        _refuse_another_setting(job.study_name, attrs[SETTING_ATTR], setting)
    if "algo" not in attrs:
        study.set_user_attr("algo", job.spec.name)
        study.set_user_attr("env_id", job.env_id)
        study.set_user_attr("objective", job.goal.label)
        study.set_user_attr("env_kwargs", env_kwargs)
        study.set_user_attr("eval_env_kwargs", eval_env_kwargs)
        if setting is not None:
            study.set_user_attr(SETTING_ATTR, setting)
        if space is not None and not study.trials:
            shipped = shipped_params(job, space)
            if shipped:
                study.enqueue_trial(shipped, user_attrs={"origin": "shipped entry"})
    return study


def study_setting(job: TuneJob, space: SearchSpace) -> dict[str, Any]:
    """What every trial of the study shares, beside the env's arguments: the entry under --hp and
    --steps less the searched keys, what is searched and how, and how a trial is judged. Workers
    that differ in any of it would put trials side by side whose values do not compare (a typo'd
    --hp on one machine, another --steps), so a study records it and refuses other settings."""
    from zoo.config import resolve_hyperparams

    config = dataclasses.asdict(resolve_hyperparams(job.spec, job.env_id, trial_overrides(job), job.hyperparams).config)
    config.update(space.fixed)
    searched = {d.name: [d.kind, list(d.choices)] if d.kind == "choice" else [d.kind, d.low, d.high]
                for d in space.dimensions}
    fixed = {key: value for key, value in config.items() if key not in searched}
    setting = {"config": fixed, "searched": searched, "seed": job.seed, "trial_seeds": job.trial_seeds,
               "eval_episodes": job.eval_episodes, "n_evaluations": job.n_evaluations}
    return json.loads(json.dumps(setting, default=str))  # as the storage gives it back (tuples as lists)


_SETTING_FLAGS = {"seed": "--seed", "trial_seeds": "--trial-seeds",
                  "eval_episodes": "--eval-episodes", "n_evaluations": "--n-evaluations"}


def _refuse_another_setting(study_name: str, recorded: Any, setting: dict[str, Any]) -> None:
    """One error naming what differs (at most three), each with the flag that sets it."""
    if not isinstance(recorded, dict):
        return  # not zoo's record: the algo, env and objective checks above still hold
    differences = []
    searched, their_searched = setting["searched"], recorded.get("searched")
    if isinstance(their_searched, dict) and their_searched != searched:
        names = sorted(name for name in set(searched) | set(their_searched)
                       if searched.get(name) != their_searched.get(name))
        differences.append(f"another search space (--search: {', '.join(names[:6])}{' ...' if len(names) > 6 else ''})")
    for key, value in setting.items():
        if key == "searched":
            continue
        if key == "config":
            theirs = recorded.get("config")
            if not isinstance(theirs, dict):
                continue
            for name in sorted(set(value) & set(theirs)):  # a key searched by one of the two: said above
                if value[name] != theirs[name]:
                    flag = "--steps" if name == "n_timesteps" else f"--hp {name}"
                    differences.append(f"{name} {brief(theirs[name], 40)} where this command has "
                                       f"{brief(value[name], 40)} ({flag})")
        elif key in recorded and recorded[key] != value:
            differences.append(f"{key} {brief(recorded[key], 60)} where this command has {brief(value, 60)} "
                               f"({_SETTING_FLAGS[key]})")
    if differences:
        more = f"; and {len(differences) - 3} more" if len(differences) > 3 else ""
        raise ZooError(f"Study '{study_name}' was made with {'; '.join(differences[:3])}{more}. Trials under other "
                       "settings would not compare: give the study's, or choose another --study-name.")


def _study_env_kwargs(job: TuneJob) -> dict[str, Any]:
    """The env arguments every trial trains on: the entry's, under --hp's and --env-kwargs'."""
    from zoo.config import resolve_hyperparams

    return resolve_hyperparams(job.spec, job.env_id, trial_overrides(job), job.hyperparams).env_kwargs


def study_names(storage: Any) -> list[str]:
    import optuna

    try:
        return optuna.get_all_study_names(storage)
    except Exception as error:  # the database's own errors (refused, no such database...)
        raise ZooError(f"Cannot list the studies in the storage: {type(error).__name__}: {_first_line(error)}") \
            from None


def make_pruner(job: TuneJob) -> optuna.pruners.BasePruner:
    import optuna

    if job.pruner == "none":
        return optuna.pruners.NopPruner()
    if job.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    # RL Zoo's: no pruning before n_startup_trials complete, nor in a trial's first third of
    # evaluations (reports are numbered by evaluation).
    return optuna.pruners.MedianPruner(n_startup_trials=job.n_startup_trials, n_warmup_steps=job.n_evaluations // 3)


def shipped_params(job: TuneJob, space: SearchSpace) -> dict[str, Any]:
    """The parameters of the algo's own entry for the env (hyperparams/), where the space holds them."""
    from zoo.config import resolve_hyperparams
    from zoo.paths import hyperparams_dir

    if not (hyperparams_dir() / f"{job.spec.hyperparams_name}.yml").exists():
        return {}
    resolved = resolve_hyperparams(job.spec, job.env_id)
    if len(resolved.sources) <= 1:  # only the file's default: no entry of our own for this env
        return {}
    return space.params_of(dataclasses.asdict(resolved.config))


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def _without_password(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:***@host/db, for messages."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not (sep and at) or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


# ---- the worker --------------------------------------------------------------------------


def counts(study: optuna.Study) -> dict[str, int]:
    from optuna.trial import TrialState

    result = {state.name: 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        result[trial.state.name] += 1
    return result


def reclaim_dead_local_trials(study: optuna.Study) -> list[int]:
    """RUNNING trials of processes on this host that no longer exist: FAIL them and queue their
    parameters again (what heartbeats do on a database, for the journal file too)."""
    import optuna
    from optuna.trial import TrialState

    host = socket.gethostname()
    retried = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.user_attrs.get(OWNER_ATTR)
        # An owner written for another trial was copied into this one by Optuna's retry of a
        # stale trial (it copies the user attrs): until the worker that took this one writes
        # its own, the copy names a dead process but says nothing about this trial. In CI
        # (2026-11-27) a worker failed a live trial in that window, when host and pid were
        # still two writes, and the trial's own worker crashed on telling it.
        if (not isinstance(owner, dict) or owner.get("trial") != trial.number or owner.get("host") != host
                or not isinstance(owner.get("pid"), int) or _alive(owner["pid"])):
            continue
        try:
            study._storage.set_trial_system_attr(trial._trial_id, "fail_reason", "its worker died")
            if not study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker got there first
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        retried.append(trial.number)
    return retried


def _taken_away(study: optuna.Study, trial_id: int | None) -> int | None:
    """The number of the trial this worker took if someone else finished it (the worker's own
    tell then fails: a finished trial cannot be told again), else None."""
    if trial_id is None:
        return None
    trial = study._storage.get_trial(trial_id)
    return trial.number if trial.state.is_finished() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_worker(job: TuneJob, index: int = 0, ready: Any = None, n_workers: int = 1) -> str | None:
    """Run trials until the study holds `n_trials` finished ones (or the timeout, or Ctrl-C).
    `ready`, `n_workers`: local workers started together (start_together). Returns the name of
    the signal that stopped it (SIGINT, SIGTERM), or None."""
    import torch

    from zoo.environments import import_env_packages

    quiet_optuna()
    torch.set_num_threads(1)  # two workers on two cores must not oversubscribe them
    import_env_packages(job.env_packages)
    space = load_job_space(job)
    storage = open_storage(job)
    study = open_study(job, storage, space, index)
    # between trainings (train() takes over the signals while it runs); a Ctrl-C held since this
    # worker was started (zoo.interrupt.ctrl_c_held_for_children) reaches the flag here
    with stop_on_interrupt() as stop, ctrl_c_released():
        if ready is not None:
            start_together(ready, n_workers, stop)
        _work(job, study, Objective(job, space, index, stop), stop)
    return stop.signal_name if stop.requested else None


def start_together(ready: Any, n_workers: int, stop: StopFlag, timeout: float = STARTUP_WAIT_SECONDS) -> None:
    """Wait until all `n_workers` local workers have started up (imports, storage, study), so
    that they share the trials: a worker whose imports took a few seconds longer used to find
    a short study's trials all taken. `ready` counts them (a shared multiprocessing.Value). A
    stop, or a worker that never arrives (it failed to start), ends the wait."""
    with ready.get_lock():
        ready.value += 1
    deadline = time.monotonic() + timeout
    while ready.value < n_workers and not stop.requested and time.monotonic() < deadline:
        time.sleep(0.05)


def _work(job: TuneJob, study: optuna.Study, objective: Objective, stop: StopFlag) -> int:
    import optuna

    started = time.monotonic()
    finished = 0
    while not stop.requested:
        reclaim_dead_local_trials(study)
        with warnings.catch_warnings():  # "experimental" since Optuna 2.9, and what heartbeats are for
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # heartbeats, on a database
        state = counts(study)
        done = state["COMPLETE"] + state["PRUNED"]
        if done >= job.n_trials or (job.timeout is not None and time.monotonic() - started > job.timeout):
            return finished
        if done + state["RUNNING"] >= job.n_trials and not state["WAITING"]:
            time.sleep(POLL_SECONDS)  # the last trials are running elsewhere; they may yet fail
            continue
        try:
            # Any error of a trial (a diverged run, a config the agent refuses, an env that
            # raises) is recorded FAIL with its reason, and the study goes on.
            study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
        except TrialInterrupted:
            return finished
        except ValueError:  # Optuna's "Cannot tell a FAIL trial."
            taken = _taken_away(study, objective.trial_id)
            if taken is None:
                raise
            logging.getLogger("optuna").warning(
                f"Trial {taken} was ended by another worker (its heartbeat looked stale, or its process dead), "
                "which queued its parameters again; this worker goes on.")
        finished += 1
    return finished


def load_job_space(job: TuneJob) -> SearchSpace:
    from zoo.config import resolve_hyperparams
    from zoo.tune.space import load_space, search_file

    base = resolve_hyperparams(job.spec, job.env_id, trial_overrides(job), job.hyperparams).config
    return load_space(job.spec.load_config_class(), dataclasses.asdict(base),
                      search_file(job.spec.hyperparams_name, job.search))


def trial_overrides(job: TuneJob) -> dict[str, Any]:
    """What every trial sets beside its sampled keys: `--hp`, `--env-kwargs` over its env_kwargs,
    and the budget (`--steps`)."""
    from zoo.config import ENV_KWARGS_KEY, Overrides

    overrides = Overrides.copy_of(job.overrides)
    given = overrides.get(ENV_KWARGS_KEY)
    if job.env_kwargs and (given is None or isinstance(given, dict)):  # another --hp value: resolve refuses it
        overrides[ENV_KWARGS_KEY] = {**(given or {}), **job.env_kwargs}
    if job.n_timesteps is not None:
        overrides["n_timesteps"] = job.n_timesteps
    return overrides


class PruningReporter(TrialWatch):
    """Reports each periodic evaluation to Optuna and stops a hopeless trial; stops a diverged one.

    With K seeds trained one after the other, the seeds before the last only record their
    evaluations; the last seed reports, at its i-th evaluation, the mean of all K seeds' i-th
    evaluations (every seed evaluates on the same schedule), so the pruner always compares
    K-seed means and prunes only in the last seed."""

    def __init__(self, trial: optuna.Trial, earlier: list[list[float]], reports: bool):
        super().__init__()
        self.trial, self.earlier, self.reports = trial, earlier, reports
        self.evaluations: list[float] = []  # the mean return of each periodic evaluation, in order

    def on_evaluation(self, step: int, evaluation: Evaluation) -> bool:
        if self.evaluation_diverged(step, evaluation):
            return True
        self.evaluations.append(evaluation.mean_return)
        if not self.reports:
            return False
        # Reported by evaluation index (1, 2, ...), as RL Zoo does, so that the pruner's warm-up
        # counts evaluations and every seed's i-th evaluation lines up.
        index = len(self.evaluations)
        values = [seed[index - 1] for seed in self.earlier if len(seed) >= index] + [evaluation.mean_return]
        self.trial.report(sum(values) / len(values), index)
        self.pruned = self.trial.should_prune()
        return self.pruned


class Objective:
    """One trial: train the sampled config on `--trial-seeds` seeds, one after the other, and
    value it by `job.goal` (the final policies' mean return, or the time to solve)."""

    def __init__(self, job: TuneJob, space: SearchSpace, worker: int, stop: StopFlag):
        self.job, self.space, self.worker, self.stop = job, space, worker, stop
        self.trial_id: int | None = None  # the storage's id of the trial this worker took last
        self.started = 0.0  # this trial's, as the next three
        self.steps = 0
        self.run_dirs: list[str] = []

    def __call__(self, trial: optuna.Trial) -> float:
        job = self.job
        self.trial_id = trial._trial_id
        trial.set_user_attr(OWNER_ATTR, {"host": socket.gethostname(), "pid": os.getpid(), "trial": trial.number})
        trial.set_user_attr("worker", self.worker)
        ahead = [t for t in trial.study.get_trials(deepcopy=False)
                 if t.number < trial.number and t.state.name in ("COMPLETE", "PRUNED", "RUNNING")]
        if len(ahead) >= job.n_trials:
            raise TrialFailed(f"surplus: {job.n_trials} trials were already finished or running")
        sampled = self.space.sample(trial)
        overrides = {**trial_overrides(job), **sampled}
        entry = self.resolved_config(overrides)  # the entry under the sampled values, read once
        budget = int(entry.n_timesteps)
        overrides.update(self.evaluation_schedule(entry.eval_freq, budget))  # the same for every seed of the trial
        self.started = time.perf_counter()
        self.steps, self.run_dirs = 0, []
        if job.goal.kind == "return":
            return self.mean_final_return(trial, overrides)
        return self.time_to_solve(trial, overrides, budget, entry.stop_streak)

    def mean_final_return(self, trial: optuna.Trial, overrides: dict[str, Any]) -> float:
        earlier: list[list[float]] = []
        returns = []
        for k in range(self.job.trial_seeds):
            reporter = PruningReporter(trial, earlier, reports=k == self.job.trial_seeds - 1)
            result = self.train_seed(trial, overrides, k, reporter)
            earlier.append(reporter.evaluations)
            returns.append(self.final_return(result, k))
        trial.set_user_attr("returns", returns)
        return sum(returns) / len(returns)

    def time_to_solve(self, trial: optuna.Trial, overrides: dict[str, Any], budget: int, streak: int) -> float:
        """zoo/tune/objectives.py: each seed's seconds (or steps) to an evaluation >= the target,
        confirmed by its final policy; an unsolved seed costs what it used plus the penalty."""
        goal = self.job.goal
        assert goal.target is not None
        values: list[float] = []
        returns, solved = [], []
        for k in range(self.job.trial_seeds):
            clock = SolveClock(goal, trial, seed_index=k, finished=values, trial_seeds=self.job.trial_seeds,
                               budget_steps=budget, started=time.perf_counter(), streak=streak)
            result = self.train_seed(trial, overrides, k, clock)
            used = clock.cost(int(result.summary["steps"] or 0))  # before the final evaluation: tuning's own
            final = self.final_return(result, k)
            returns.append(final)
            solved.append(clock.solved_at is not None and final >= goal.target)
            values.append(clock.solved_at if solved[-1] and clock.solved_at is not None
                          else clock.unsolved_value(used))
        trial.set_user_attr("returns", returns)
        trial.set_user_attr("solved", solved)
        return sum(values) / len(values)

    def train_seed(self, trial: optuna.Trial, overrides: dict[str, Any], k: int, callback: Any) -> Any:
        """Train seed SEED + k with `callback` (a PruningReporter or a SolveClock); record its run;
        raise for an interrupt, a divergence, a refused config or a pruned trial."""
        import optuna

        from zoo.train import train

        job = self.job
        if self.stop.requested:  # Ctrl-C or SIGTERM between two trainings
            raise TrialInterrupted("interrupted: Ctrl-C or SIGTERM")
        trial_dir = job.trial_runs_dir / f"trial_{trial.number:04d}"
        try:
            result = train(job.spec.name, job.env_id, seed=job.seed + k, overrides=overrides,
                           hyperparams=job.hyperparams, out_dir=trial_dir, device=job.device,
                           callbacks=[callback], stop=self.stop, eval_env_kwargs=job.eval_env_kwargs)
        except ZooError as error:
            raise TrialFailed(f"its config was refused: {error}") from None
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - self.started, 3))
        result.env.close()
        self.steps += int(result.summary["steps"] or 0)
        self.run_dirs.append(str(result.run_dir))
        trial.set_user_attr("steps", self.steps)
        trial.set_user_attr("run_dirs", self.run_dirs)
        trial.set_user_attr("config", _plain(dataclasses.asdict(result.agent.config)))
        if result.interrupted:
            raise TrialInterrupted("interrupted: Ctrl-C or SIGTERM")
        if callback.diverged:
            raise TrialFailed(f"diverged: {callback.diverged}")
        if callback.pruned:
            raise optuna.TrialPruned()
        return result

    def final_return(self, result: Any, k: int) -> float:
        """The final policy's mean return over `--eval-episodes` fresh deterministic episodes."""
        from zoo.build import env_of
        from zoo.evaluation import evaluate_agent

        trained_on = env_of(result.agent)
        env = dataclasses.replace(trained_on, env_kwargs={**trained_on.env_kwargs, **self.job.eval_env_kwargs}).make()
        try:
            final = evaluate_agent(result.agent, env, self.job.eval_episodes, seed=EVAL_SEED_OFFSET + self.job.seed + k)
        finally:
            env.close()
        if not math.isfinite(final.mean):
            raise TrialFailed("diverged: non-finite final return")
        return final.mean

    def resolved_config(self, overrides: dict[str, Any]) -> Any:
        """The trial's config: the entry under `overrides`."""
        from zoo.config import resolve_hyperparams

        return resolve_hyperparams(self.job.spec, self.job.env_id, overrides, self.job.hyperparams).config

    def evaluation_schedule(self, entry_eval_freq: int, budget: int) -> dict[str, Any]:
        """For the mean return: `n_evaluations` periodic evaluations over the budget, for the
        pruner. For a time objective the entry's own schedule (its `eval_freq`, which the space
        may search: how often a user's run checks whether it is done), else the same
        `n_evaluations`; and no `stop_at_return` of the entry: the target decides when to stop."""
        every = max(1, budget // max(1, self.job.n_evaluations))
        if self.job.goal.kind == "return":
            return {"eval_freq": every}
        return {"eval_freq": entry_eval_freq or every, "stop_at_return": None}


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready (tuples become lists), for the study's user attrs."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in values.items()}
