"""`zoo tune`: search spaces, study-wide trial counts with several workers, resume, the best
config, pruning, and faults, on the embedded journal file and on a real PostgreSQL server."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

optuna = pytest.importorskip("optuna")

from typer.testing import CliRunner  # noqa: E402

from zoo.agents.dqn import DQNConfig  # noqa: E402
from zoo.cli import app  # noqa: E402
from zoo.errors import ZooError  # noqa: E402
from zoo.paths import hyperparams_dir  # noqa: E402
from zoo.tune import TuneJob, tune  # noqa: E402
from zoo.tune.objectives import parse_objective  # noqa: E402
from zoo.tune.space import load_space, search_file  # noqa: E402
from zoo.tune.study import open_storage  # noqa: E402

TINY_DQN = {"learning_starts": 100, "stop_at_return": None}


def job(tmp_path, **changes):
    values = dict(algo="dqn", env_id="CartPole-v1", n_trials=2, study_name="study", study_dir=tmp_path / "study",
                  n_timesteps=600, eval_episodes=2, n_evaluations=2, pruner="none", overrides=TINY_DQN)
    values.update(changes)
    return TuneJob(**values)


def trials_of(tune_job):
    return optuna.load_study(study_name=tune_job.study_name, storage=open_storage(tune_job)).get_trials()


# ---- search spaces -----------------------------------------------------------------------


@pytest.mark.parametrize("space, message", [
    ({"learnin_rate": {"uniform": [0.1, 0.2]}}, "unknown hyperparameter 'learnin_rate'.*learning_rate"),
    ({"batch_size": {"choice": [32, "big"]}}, r"\[batch_size\]: 'batch_size' must be int, got 'big'"),
    ({"learning_rate": {"uniform": [0.2, 0.1]}}, "needs finite low < high"),
    ({"learning_rate": {"log_uniform": [0.0, 0.1]}}, "log_uniform needs low > 0"),
    ({"learning_rate": {"uniform": [0.0, 0.1]}}, "'learning_rate' must be in \\(0, 1\\]"),
    ({"train_freq": {"int": [1, 4.5]}}, "int needs whole-number bounds"),
    ({"net_arch": {"choice": []}}, "choice needs a non-empty list"),
    ({"gamma": 2.0}, "gamma must be in"),
])
def test_a_bad_search_space_is_one_clear_error_naming_the_key(space, message, tmp_path):
    path = tmp_path / "space.yml"
    path.write_text(yaml.safe_dump(space))
    with pytest.raises(ZooError, match=message):
        load_space(DQNConfig, {}, path)


def test_every_shipped_space_is_valid_for_its_algo_on_its_flagship_env(tmp_path):
    for algo, env_id in (("dqn", "CartPole-v1"), ("double_dqn", "CartPole-v1"), ("reinforce", "CartPole-v1"),
                         ("actor_critic", "CartPole-v1"), ("ddpg", "Pendulum-v1"), ("sac", "Pendulum-v1"),
                         ("vision_dqn", "CliffWalking4x12-v0"), ("ppo", "CartPole-v1"), ("ppo", "Pendulum-v1"),
                         ("td3", "Pendulum-v1")):
        from zoo.tune.study import load_job_space

        space = load_job_space(job(tmp_path, algo=algo, env_id=env_id, overrides={}))
        assert space.dimensions and "n_timesteps" not in {d.name for d in space.dimensions}
    # the time-to-solve studies' spaces, on the entries they search around
    for algo, env_id, name in (("dqn", "CartPole-v1", "dqn"), ("ppo", "CartPole-v1", "ppo"),
                               ("actor_critic", "CartPole-v1", "actor_critic"), ("sac", "Pendulum-v1", "sac"),
                               ("ddpg", "Pendulum-v1", "ddpg"), ("td3", "Pendulum-v1", "ddpg")):
        path = hyperparams_dir() / "search" / f"{name}_time.yml"
        space = load_job_space(job(tmp_path, algo=algo, env_id=env_id, overrides={}, search=str(path)))
        assert {"eval_freq", "learning_rate"} <= {d.name for d in space.dimensions}


def test_a_value_refused_only_beside_another_searched_fields_entry_value_is_left_to_the_trials(tmp_path):
    from zoo.agents.sac import SACConfig

    # use_sde_at_warmup needs use_sde: refused beside the entry's use_sde false, but the space
    # searches use_sde too; the whole study was refused before any trial
    path = tmp_path / "space.yml"
    both = {"choice": [False, True]}
    path.write_text(yaml.safe_dump({"use_sde": both, "use_sde_at_warmup": both}))
    assert len(load_space(SACConfig, {"use_sde": False}, path).dimensions) == 2
    # without a use_sde that takes it, still refused, naming the field
    path.write_text(yaml.safe_dump({"use_sde_at_warmup": both}))
    with pytest.raises(ZooError, match=r"\[use_sde_at_warmup\]: use_sde_at_warmup explores the warm-up"):
        load_space(SACConfig, {"use_sde": False}, path)


def test_a_bad_space_is_refused_before_any_trial(tmp_path):
    path = tmp_path / "space.yml"
    path.write_text(yaml.safe_dump({"learnin_rate": {"uniform": [0.1, 0.2]}}))
    with pytest.raises(ZooError, match="unknown hyperparameter"):
        tune(job(tmp_path, search=str(path)))
    assert not (tmp_path / "study" / "trials").exists()


# ---- studies on the embedded journal -----------------------------------------------------


def test_local_workers_wait_for_each_other_to_start_but_not_for_a_stopped_or_missing_one():
    import multiprocessing

    from zoo.interrupt import StopFlag
    from zoo.tune.study import start_together

    ready = multiprocessing.get_context("spawn").Value("i", 1)  # one worker already waits
    started = time.monotonic()
    start_together(ready, 2, StopFlag(), timeout=30)  # the second arrives: nobody waits
    assert ready.value == 2 and time.monotonic() - started < 1
    stop = StopFlag()
    stop.requested = True
    start_together(ready, 4, stop, timeout=30)  # Ctrl-C while waiting: no more waiting
    assert time.monotonic() - started < 2
    start_together(ready, 9, StopFlag(), timeout=0.3)  # the others never come (failed to start)
    assert 0.3 <= time.monotonic() - started < 3


def test_two_workers_finish_exactly_n_trials_and_the_same_command_resumes(tmp_path):
    first = job(tmp_path, n_trials=4, n_timesteps=2000)
    result = tune(first, workers=2, plots=False)
    trials = trials_of(first)
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4 and result.counts["COMPLETE"] == 4
    assert {t.user_attrs["worker"] for t in finished} == {0, 1}  # both processes ran trials
    assert trials[0].user_attrs.get("origin") == "shipped entry"  # the search starts from what we know
    assert len({t.number for t in trials}) == len(trials)
    assert len({str(sorted(t.params.items())) for t in trials}) == len(trials)  # no two workers proposed alike
    rows = (tmp_path / "study" / "trials.csv").read_text().splitlines()
    assert rows[0].startswith("number,state,value,") and len(rows) == len(trials) + 1

    tune(job(tmp_path, n_trials=5, n_timesteps=2000), plots=False)  # the same study, one more trial
    assert sum(t.state.name == "COMPLETE" for t in trials_of(first)) == 5


def test_rl_zoos_journal_file_storage_and_training_a_trial_by_its_id(tmp_path, monkeypatch):
    # RL Zoo's tuning guide: `train.py ... -optimize --study-name test --storage logs/demo.log`,
    # then `train.py ... --study-name test --storage logs/demo.log --trial-id 21`
    journal, runs = tmp_path / "demo.log", tmp_path / "runs"

    def zoo(*args):
        return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})

    result = zoo("tune", "dqn", "CartPole-v1", "--trials", 2, "--steps", 600, "--eval-episodes", 2,
                 "--storage", journal, "--study-name", "demo", "--out", runs, "--no-plots")
    assert result.exit_code == 0 and journal.exists(), result.output
    trial = optuna.load_study(study_name="demo", storage=open_storage(job(tmp_path, storage=str(journal)))).trials[1]
    result = zoo("train", "dqn", "CartPole-v1", "--study-name", "demo", "--storage", journal, "--trial-id", 1,
                 "--hp", "n_eval_episodes=3", "--out", runs)
    assert result.exit_code == 0, result.output
    trained = yaml.safe_load((runs / "dqn" / "CartPole-v1_1" / "config.yml").read_text())["hyperparams"]
    assert trained == {**trial.user_attrs["config"], "n_eval_episodes": 3}  # the trial's whole config, --hp over it

    for args, says in (
            (("--trial-id", 7), "--trial-id 7: study 'demo' holds trials 0-1."),
            (("--trial-id", 0, "--study-name", "nope"), "--trial-id 0: there is no study 'nope' in --storage"),
            (("--study-name", "demo"), "--study-name and --storage name the study of --trial-id N"),
            (("--trial-id", 0, "--hyperparams", "rl_zoo"), "--trial-id trains the trial's whole config; drop "
                                                           "--hyperparams")):
        result = zoo("train", "dqn", "CartPole-v1", "--storage", journal, "--out", runs,
                     *(("--study-name", "demo") if "--study-name" not in args else ()), *args)
        assert result.exit_code == 1 and says in result.output, (args, result.output)
    result = zoo("train", "sac", "Pendulum-v1", "--study-name", "demo", "--storage", journal, "--trial-id", 0)
    assert result.exit_code == 1 and "Study 'demo' tunes dqn on CartPole-v1, not sac on Pendulum-v1" in result.output
    # a trial that trained nothing, and a study whose record a user edited: named, not a traceback
    study = optuna.load_study(study_name="demo", storage=open_storage(job(tmp_path, storage=str(journal))))
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    edited = study.ask()
    edited.set_user_attr("config", {"learning_rate": "fast"})
    study.tell(edited, 1.0)
    for number, says in ((2, "trial 2 of study 'demo' is FAIL and recorded no config"),
                         (3, "--trial-id 3 (study 'demo'): learning_rate must be a number")):
        result = zoo("train", "dqn", "CartPole-v1", "--study-name", "demo", "--storage", journal, "--trial-id", number)
        assert result.exit_code == 1 and says in result.output, result.output
    result = zoo("tune", "dqn", "CartPole-v1", "--storage", tmp_path / "no" / "demo.log", "--trials", 1)
    assert result.exit_code == 1 and "its folder does not exist" in result.output, result.output
    result = zoo("tune", "dqn", "CartPole-v1", "--storage", tmp_path, "--trials", 1)  # a folder
    assert result.exit_code == 1 and "neither a database URL" in result.output, result.output
    # another program's .log, or a journal whose lines are not Optuna's: one line, not a traceback
    (tmp_path / "other.log").write_text('{"op_code": 0, "worker_id": "w", "study_name": 5}\n')
    (tmp_path / "binary.log").write_bytes(b"\x00\xff\xfe not json\n")
    for command in (("train", "dqn", "CartPole-v1", "--trial-id", 0), ("tune", "dqn", "CartPole-v1", "--trials", 1)):
        result = zoo(*command, "--storage", tmp_path / "other.log", "--out", runs)
        assert result.exit_code == 1 and "other.log: not an Optuna journal, or a damaged one (KeyError" in \
            result.output, result.output
        result = zoo(*command, "--storage", tmp_path / "binary.log", "--out", runs)  # Optuna reads it lazily
        assert result.exit_code == 1 and result.output.startswith("error: ") and \
            len(result.output.splitlines()) == 1, result.output
    monkeypatch.setattr("zoo.tune.study.MAX_JOURNAL_BYTES", 2**20)  # Optuna replays a journal whole: bounded
    (tmp_path / "huge.log").write_bytes(b"x" * (2**20 + 1))
    result = zoo("train", "dqn", "CartPole-v1", "--trial-id", 0, "--storage", tmp_path / "huge.log")
    assert result.exit_code == 1 and "huge.log: larger than the 1 MiB of journal zoo reads" in result.output


def test_a_study_is_joined_on_its_own_settings_only(tmp_path):
    # a worker with another budget, another fixed hyperparameter, another space or another way
    # of judging a trial would add trials whose values do not compare: refused, naming each
    tune(job(tmp_path, n_trials=1), plots=False)
    space = tmp_path / "space.yml"
    space.write_text("learning_rate: {log_uniform: [1.0e-4, 1.0e-2]}\n")
    for changes, says in (
            ({"n_timesteps": 700}, r"n_timesteps 600 where this command has 700 \(--steps\)"),
            ({"overrides": {**TINY_DQN, "max_grad_norm": 5}},
             r"max_grad_norm 10.0 where this command has 5.0 \(--hp max_grad_norm\)"),
            ({"trial_seeds": 2, "eval_episodes": 3},
             r"trial_seeds 1 where this command has 2 \(--trial-seeds\); eval_episodes 2 where this command has 3"),
            ({"search": str(space)}, r"another search space \(--search: batch_size, buffer_size, "
                                     r"exploration_final_eps, exploration_fraction, gamma, gradient_steps \.\.\.\)\. "
                                     r"Trials"),
            ({"seed": 1}, r"seed 0 where this command has 1 \(--seed\)")):
        with pytest.raises(ZooError, match=r"Study 'study' was made with " + says + r".*choose another --study-name"):
            tune(job(tmp_path, n_trials=2, **changes), plots=False)
    assert len(trials_of(job(tmp_path))) == 1  # nothing ran
    tune(job(tmp_path, n_trials=0, n_timesteps=700), plots=False)  # a report only: any settings
    tune(job(tmp_path, n_trials=2), plots=False)  # the same settings: joined
    assert len(trials_of(job(tmp_path))) == 2


def test_the_study_plots_history_and_importances_once_two_trials_finished(tmp_path):
    pytest.importorskip("matplotlib")
    one = tune(job(tmp_path, n_trials=1))
    assert one.plots == [tmp_path / "study" / "history.png"] and (tmp_path / "study" / "history.png").stat().st_size
    # Optuna's importances of one trial are all equal (it warns from deep inside): not drawn, said why
    assert "importances.png not drawn: importances need at least 2 finished trials" in " ".join(one.notes)
    assert not (tmp_path / "study" / "importances.png").exists()
    two = tune(job(tmp_path, n_trials=2))
    assert two.plots == [tmp_path / "study" / "history.png", tmp_path / "study" / "importances.png"]


def test_the_saved_best_config_trains_exactly_that_config(tmp_path):
    saved = tmp_path / "best.yml"
    result = tune(job(tmp_path, n_trials=2), save_best=saved, plots=False)
    best = result.best[0]
    from zoo.train import train

    trained = train("dqn", "CartPole-v1", hyperparams=saved, out_dir=tmp_path / "runs")
    assert yaml.safe_load((trained.run_dir / "config.yml").read_text())["hyperparams"] == best["config"]
    from zoo.build import load_agent

    assert load_agent(Path(best["run_dirs"][0]) / "model.zip").algo == "dqn"  # the best trial's agent is kept


def test_a_study_of_another_algo_or_env_is_refused(tmp_path):
    tune(job(tmp_path, n_trials=1), plots=False)
    with pytest.raises(ZooError, match="tunes dqn on CartPole-v1, not double_dqn on CartPole-v1"):
        tune(job(tmp_path, n_trials=1, algo="double_dqn"))


def test_the_pruner_stops_hopeless_trials(tmp_path):
    # Half the space cannot learn (a learning rate of 1e-9); the other half is the shipped
    # entry's 1e-3, which the study runs first. Hopeless trials fall below it and are pruned.
    space = tmp_path / "space.yml"
    space.write_text(yaml.safe_dump({"learning_rate": {"choice": [1.0e-9, 1.0e-3]}}))
    pruning = job(tmp_path, algo="reinforce", n_trials=4, n_timesteps=3000, n_evaluations=3, pruner="median",
                  n_startup_trials=1, sampler="random", search=str(space), seed=4,
                  overrides={"stop_at_return": None, "n_eval_episodes": 3})
    tune(pruning, plots=False)
    trials = trials_of(pruning)  # a single seeded worker: the same trials every run
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert trials[0].params["learning_rate"] == "0.001" and trials[0].state.name == "COMPLETE"
    assert pruned and all(t.params["learning_rate"] == "1e-09" for t in pruned)
    assert all(t.last_step < 3 for t in pruned)  # stopped before their last evaluation
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials) == 4


# ---- time-to-solve objectives -------------------------------------------------------------


@pytest.mark.parametrize("text, penalty, message", [
    ("speed", None, "--objective 'speed': use return, wall-to-return:RETURN or steps-to-return:RETURN"),
    ("wall-to-return", None, "wall-to-return needs the return to reach, e.g. wall-to-return:-170"),
    ("steps-to-return:lots", None, "steps-to-return needs the return to reach"),
    ("wall-to-return:nan", None, "wall-to-return needs the return to reach"),
    ("return:500", None, "'return' takes no threshold"),
    ("return", 10.0, "--penalty is for the time objectives"),
    ("wall-to-return:-170", -1.0, "--penalty must be a finite number >= 0"),
])
def test_a_bad_objective_is_one_clear_error(text, penalty, message):
    with pytest.raises(ZooError, match=re.escape(message)):
        parse_objective(text, penalty)


STEPS_JOB = dict(n_trials=1, n_timesteps=600, trial_seeds=2,
                 overrides={**TINY_DQN, "eval_freq": 200, "n_eval_episodes": 2})


@pytest.mark.parametrize("streak", [1, 2])
def test_steps_to_return_counts_the_steps_of_the_solving_evaluation(streak, tmp_path):
    # Any CartPole episode returns >= 1: the first evaluation (step 200) solves every seed, or
    # the second (400) completes an entry's stop_streak of 2, as a user's run would stop.
    solving = job(tmp_path, goal=parse_objective("steps-to-return:1"),
                  **{**STEPS_JOB, "overrides": {**STEPS_JOB["overrides"], "stop_streak": streak}})
    result = tune(solving, plots=False, save_best=tmp_path / "best.yml")
    (trial,) = trials_of(solving)
    assert trial.value == 200.0 * streak and trial.user_attrs["solved"] == [True, True]
    assert trial.user_attrs["steps"] == 400 * streak  # each seed stopped at its solving evaluation
    assert result.best[0]["value"] == 200.0 * streak
    # the saved entry stops as its trial was judged: at the target, after the same streak
    saved = yaml.safe_load((tmp_path / "best.yml").read_text())["CartPole-v1"]
    assert (saved["stop_at_return"], saved["stop_streak"]) == (1.0, streak)


def test_an_unsolved_trial_costs_its_budget_plus_the_penalty_and_reports_so_to_the_pruner(tmp_path):
    # CartPole-v1 never returns 1000: each seed trains its whole 600 steps and costs 600 + 600.
    unsolved = job(tmp_path, goal=parse_objective("steps-to-return:1000"), **STEPS_JOB)
    tune(unsolved, plots=False)
    (trial,) = trials_of(unsolved)
    assert trial.value == 1200.0 and trial.user_attrs["solved"] == [False, False]
    # what the trial would be worth stopped at each evaluation (200, 400, 600 steps), over 2 seeds
    assert trial.intermediate_values == {1: 400.0, 2: 500.0, 3: 600.0,
                                         100_001: 1000.0, 100_002: 1100.0, 100_003: 1200.0}


def test_wall_to_return_minimises_seconds_best_first_and_keeps_its_study(tmp_path):
    goal = parse_objective("wall-to-return:1", penalty=50.0)
    timed = job(tmp_path, n_trials=2, goal=goal, overrides={**TINY_DQN, "eval_freq": 200})
    result = tune(timed, plots=False, save_best=tmp_path / "best.yml")
    # the trials stopped at the target (the entry's stop_at_return was dropped): so does the saved entry
    assert yaml.safe_load((tmp_path / "best.yml").read_text())["CartPole-v1"]["stop_at_return"] == 1.0
    values = [row["value"] for row in result.best]
    assert len(values) == 2 and values == sorted(values) and 0 < values[0] < 50  # solved in seconds
    header = (tmp_path / "study" / "trials.csv").read_text().splitlines()[0]
    assert "final_returns,solved" in header
    with pytest.raises(ZooError, match="optimises wall-to-return:1, not --objective return"):
        tune(job(tmp_path, n_trials=1), plots=False)
    # `zoo tune ... --trials 0` without --objective: reported by the study's own, best (fastest) first
    report = tune(job(tmp_path, n_trials=0, goal_from_study=True), plots=False)
    assert report.unit == "seconds to solve" and [row["value"] for row in report.best] == values


def test_reporting_on_a_study_that_does_not_exist_is_one_error_and_leaves_nothing(tmp_path):
    # --trials 0 only reports: a mistyped --study-name must not create an empty study
    with pytest.raises(ZooError, match="There is no study 'nope' in .* check --study-name"):
        tune(job(tmp_path, n_trials=0, study_name="nope", study_dir=tmp_path / "tune" / "nope"), plots=False)
    assert not (tmp_path / "tune").exists()
    result = subprocess.run([sys.executable, "-m", "zoo", "tune", "dqn", "CartPole-v1", "--trials", "0",
                             "--study-name", "nope", "--out", str(tmp_path / "runs")],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 1 and "There is no study 'nope'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()
    assert "Tuning" not in result.stdout  # said only of a job that starts


@pytest.mark.parametrize("args, says", [(["--trials", "-1"], "--trials must be at least 0, got -1"),
                                        (["--workers", "0"], "--workers must be at least 1, got 0"),
                                        # RL Zoo's names for them
                                        (["--n-jobs", "0"], "--workers must be at least 1, got 0"),
                                        (["--n-trials", "-2"], "--trials must be at least 0, got -2"),
                                        (["--trial-seeds", "0"], "--trial-seeds must be at least 1, got 0"),
                                        (["--sampler", "grid"], "--sampler is tpe or random, got 'grid'"),
                                        (["--pruner", "hyperband"], "--pruner is median, halving or none, got"),
                                        (["--steps", "0"], "--steps must be at least 1, got 0"),
                                        (["--steps", str(10**20)], "--steps is out of range"),
                                        # its folder would be OUT/tune/.. (was: the study's files in OUT)
                                        (["--study-name", ".."], "--study-name '..' names no folder of its own")])
def test_bad_counts_are_refused_before_the_job_is_announced(args, says, tmp_path):
    result = CliRunner().invoke(app, ["tune", "dqn", "CartPole-v1", "--out", str(tmp_path), *args])
    assert result.exit_code == 1 and says in result.stderr, result.output
    assert "Tuning" not in result.stdout and not any(tmp_path.iterdir())


def test_rl_zoos_names_for_the_total_of_trials_and_no_plots(tmp_path):
    # --max-total-trials counts the study's trials, as --trials does; --no-optim-plots draws none
    result = CliRunner().invoke(app, ["tune", "dqn", "CartPole-v1", "--out", str(tmp_path), "--max-total-trials", "2",
                                      "--steps", "300", "--eval-episodes", "1", "--n-evaluations", "1", "--pruner",
                                      "none", "--hp", "learning_starts=100", "--no-optim-plots"])
    assert result.exit_code == 0, result.output
    study = tmp_path / "tune" / "dqn-CartPole-v1"
    trials = (study / "trials.csv").read_text().splitlines()
    assert len(trials) == 3 and not list(study.glob("*.png"))  # a header and 2 trials


def test_rl_zoos_optimization_log_path_holds_each_trials_runs(tmp_path):
    from zoo.cli import rl_zoo_arguments

    logs = tmp_path / "logs" / "opt"
    command = rl_zoo_arguments(["train", "dqn", "CartPole-v1", "-optimize", "--optimization-log-path", str(logs),
                                "--out", str(tmp_path), "--n-trials", "2", "-n", "300", "--eval-episodes", "1",
                                "--n-evaluations", "1", "--pruner", "none", "--hp", "learning_starts=100",
                                "--no-optim-plots"])
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    for trial in ("trial_0000", "trial_0001"):  # each trial's run: its evaluations and the agent they chose
        (run,) = (logs / trial / "dqn").iterdir()
        assert {"config.yml", "evaluations.csv", "model.zip", "best_model.zip"} <= {path.name for path in run.iterdir()}
    study = tmp_path / "tune" / "dqn-CartPole-v1"
    assert (study / "trials.csv").exists() and not (study / "trials").exists()
    (tmp_path / "a_file").write_text("")
    refused = CliRunner().invoke(app, ["tune", "dqn", "CartPole-v1", "--out", str(tmp_path / "other"),
                                       "--optimization-log-path", str(tmp_path / "a_file")])
    assert refused.exit_code == 1 and "--optimization-log-path" in refused.output and "is a file" in refused.output
    refused = CliRunner().invoke(app, ["tune", "dqn", "CartPole-v1", "--out", str(tmp_path / "other"),
                                       "--optimization-log-path", str(tmp_path / "a_file" / "below")])
    assert refused.exit_code == 1 and "below: cannot make that folder" in " ".join(refused.output.split())
    assert not (tmp_path / "other").exists()  # refused before the study was made


def test_tune_env_kwargs_reach_every_trial_and_trains_own_flags_are_left_out_saying_so(tmp_path, capsys):
    import yaml

    from zoo.cli import rl_zoo_arguments

    # RL Zoo's `train ... -optimize` with train's flags tune has no use for: each left out, said
    command = rl_zoo_arguments(["train", "dqn", "CartPole-v1", "-optimize", "--verbose", "0", "-P", "--eval-freq=500",
                                "--out", str(tmp_path), "--n-trials", "1", "-n", "300", "--env-kwargs",
                                "sutton_barto_reward:True", "--hp", "learning_starts=100", "--pruner", "none",
                                "--n-eval-envs", "1", "--log-interval", "10", "--track", "--trial-id", "3"])
    said = " ".join(capsys.readouterr().err.split())
    assert "note: --verbose 0 left out of zoo tune: tune prints one line a trial." in said
    assert "note: -P left out" in said and "note: --eval-freq=500 left out of zoo tune: --n-evaluations" in said
    for flag in ("--n-eval-envs 1", "--log-interval 10", "--track", "--trial-id 3"):
        assert f"note: {flag} left out of zoo tune" in said, said
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    (config,) = (tmp_path / "tune" / "dqn-CartPole-v1" / "trials").glob("trial_0000/*/*/config.yml")
    assert yaml.safe_load(config.read_text())["env_kwargs"] == {"sutton_barto_reward": True}
    refused = CliRunner().invoke(app, ["tune", "dqn", "CartPole-v1", "--out", str(tmp_path / "x"), "--env-kwargs",
                                       "sutton_barto_rewarx:True"])
    assert refused.exit_code == 1 and "--env-kwargs: CartPole-v1 takes no argument 'sutton_barto_rewarx'" in \
        " ".join(refused.output.split())


def test_a_study_is_joined_on_its_own_env_arguments_only(tmp_path):
    # trials on CartPole with Sutton and Barto's reward (0 a step) beside the usual one's would
    # not compare: the study records its env's arguments and refuses others
    sutton = {**TINY_DQN, "env_kwargs": {"sutton_barto_reward": True}}
    tune(job(tmp_path, n_trials=1, overrides=sutton), plots=False, save_best=tmp_path / "best.yml")
    study = optuna.load_study(study_name="study", storage=open_storage(job(tmp_path)))
    assert study.user_attrs["env_kwargs"] == {"sutton_barto_reward": True}
    # the best config trains on them too (it held the entry's alone, none here)
    assert yaml.safe_load((tmp_path / "best.yml").read_text())["CartPole-v1"]["env_kwargs"] == \
        {"sutton_barto_reward": True}
    with pytest.raises(ZooError, match=r"Study 'study' tunes with the env_kwargs \{'sutton_barto_reward': True\}, "
                                       r"not \{\} \(--env-kwargs"):
        tune(job(tmp_path, n_trials=2), plots=False)
    tune(job(tmp_path, n_trials=2, overrides=sutton), plots=False)  # the same arguments: joined
    assert len(trials_of(job(tmp_path))) == 2
    tune(job(tmp_path, n_trials=0, goal_from_study=True), plots=False)  # a report only: any arguments


def test_eval_env_kwargs_reach_the_trials_evaluations_and_their_final_one(tmp_path):
    # RL Zoo's search takes --eval-env-kwargs too: CartPole's evaluations cut at 7 steps, so a
    # trial's periodic evaluations and its final return are at most 7 whatever it learned
    cut = job(tmp_path, n_trials=1, eval_env_kwargs={"max_episode_steps": 7})
    result = tune(cut, plots=False)
    (trial,) = trials_of(cut)
    assert trial.value <= 7 and result.best[0]["value"] <= 7
    (run,) = (tmp_path / "study" / "trials").glob("trial_0000/*/*")
    assert all(float(row.split(",")[3]) <= 7 for row in (run / "evaluations.csv").read_text().splitlines()[1:])
    with pytest.raises(ZooError, match=r"tunes with the eval_env_kwargs \{'max_episode_steps': 7\}, not \{\}"):
        tune(job(tmp_path, n_trials=2), plots=False)
    with pytest.raises(ZooError, match="--eval-env-kwargs: CartPole-v1 takes no argument 'max_episode_stepz'"):
        tune(job(tmp_path / "other", n_trials=1, eval_env_kwargs={"max_episode_stepz": 7}), plots=False)


def test_a_study_recording_an_unknown_objective_is_named_not_the_objective_flag(tmp_path):
    tune(job(tmp_path, n_trials=1), plots=False)
    study = optuna.load_study(study_name="study", storage=open_storage(job(tmp_path)))
    study.set_user_attr("objective", "x" * 500)  # a study file from elsewhere, or damaged
    with pytest.raises(ZooError, match="Study 'study' records an objective zoo does not know") as raised:
        tune(job(tmp_path, n_trials=0, goal_from_study=True), plots=False)
    assert "--objective" not in str(raised.value) and len(str(raised.value)) < 300
    with pytest.raises(ZooError, match="optimises x+\\.\\.\\., not --objective return") as raised:
        tune(job(tmp_path, n_trials=1), plots=False)
    assert len(str(raised.value)) < 300


@pytest.mark.slow  # the PostgreSQL server of .ci/run's slow pass
def test_reporting_on_a_study_not_in_the_database_is_one_error_and_creates_none(postgres_url, tmp_path):
    with pytest.raises(ZooError, match="There is no study 'nope' in --storage postgresql"):
        tune(job(tmp_path, n_trials=0, study_name="nope", storage=postgres_url), plots=False)
    assert "nope" not in optuna.get_all_study_names(postgres_url)


@pytest.mark.parametrize("storage, message", [
    ("nosuchdb://x/y", "--storage nosuchdb://x/y: cannot open it"),
    ("mysql://x/y", r"--storage mysql://x/y: no driver for that database is installed; zoo tune's are PostgreSQL's"),
    ("postgresql+psycopg://zoo@/zoo?host=/nonexistent-socket-dir", "cannot open it"),
])
def test_a_bad_storage_is_one_clear_error(storage, message, tmp_path):
    with pytest.raises(ZooError, match=message):
        tune(job(tmp_path, storage=storage))


# ---- workers as processes: the CLI, signals, PostgreSQL ------------------------------------


def zoo_tune(tmp_path, *args, **popen):
    command = [sys.executable, "-m", "zoo", "tune", "dqn", "CartPole-v1", "--out", str(tmp_path / "runs"),
               "--eval-episodes", "2", "--n-evaluations", "2", "--pruner", "none", "--hp", "learning_starts=100",
               "--hp", "stop_at_return=null", "--no-plots", *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"}, **popen)


DQN_SPACE_SIZE = len(load_space(DQNConfig, {}, search_file("dqn")).dimensions)


def wait_for_running_trial(study_name, storage, timeout=60, space_size=DQN_SPACE_SIZE):
    """The first trial that is RUNNING with all its parameters sampled: a worker killed while it
    was still sampling leaves a partial set, and the retry would then differ from this snapshot."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            trials = optuna.load_study(study_name=study_name, storage=storage).get_trials()
        except KeyError:
            trials = []
        running = [t for t in trials if t.state.name == "RUNNING" and "owner" in t.user_attrs
                   and len(t.params) == space_size]
        if running:
            return running[0]
        time.sleep(0.2)
    raise AssertionError("no trial started")


def equal_trials(tmp_path, steps):
    """Flags for trials that differ only in their learning rate, so each costs the same (~0.4 s
    per 1000 steps beside another worker): with the full DQN space a short trial mostly never
    trained (learning_starts up to 5000). A worker killed in a trial must find it still running
    after the poll that found it (0.2 s), and every worker of a study trains the same budget."""
    space = tmp_path / "space.yml"
    space.write_text("learning_rate: {log_uniform: [1.0e-4, 1.0e-2]}\n")
    return ("--steps", steps, "--search", space, "--hp", "train_freq=4", "--hp", "gradient_steps=1",
            "--hp", "net_arch=[64, 64]")


@pytest.mark.slow  # ~10 s: worker processes, one killed and waited for; runs in .ci/run's slow pass
def test_a_killed_local_worker_is_noticed_and_its_trial_retried_on_the_journal(tmp_path):
    args = ("--trials", 3, "--study-name", "s", *equal_trials(tmp_path, 4000))
    doomed = zoo_tune(tmp_path, *args)
    tune_job = job(tmp_path, n_trials=3, study_name="s", study_dir=tmp_path / "runs" / "tune" / "s")
    killed = wait_for_running_trial("s", open_storage(tune_job), space_size=1)
    doomed.kill()  # SIGKILL: no handler runs, the trial stays RUNNING in the journal...
    doomed.wait()
    assert trials_of(tune_job)[killed.number].state.name == "RUNNING"
    _, stderr = zoo_tune(tmp_path, *args).communicate(timeout=180)  # ...until the next worker sees its pid is gone
    assert "Trial" not in stderr, stderr
    trials = trials_of(tune_job)
    assert trials[killed.number].state.name == "FAIL"
    assert trials[killed.number].system_attrs["fail_reason"] == "its worker died"
    retried = [t for t in trials if t.user_attrs.get("retry_of") == killed.number]
    assert len(retried) == 1 and retried[0].params == killed.params and retried[0].state.name == "COMPLETE"
    assert sum(t.state.name == "COMPLETE" for t in trials) == 3


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_running_trial_is_reclaimed_only_on_an_owner_written_for_it(tmp_path):
    from zoo.tune.study import reclaim_dead_local_trials

    study = optuna.create_study(storage=open_storage(job(tmp_path)), study_name="s")
    trial = study.ask({"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2)})
    gone = {"host": socket.gethostname(), "pid": dead_pid()}
    # what Optuna's retry of a stale trial copies from the trial it retries: not this trial's
    # owner, so a worker that took this one and has not yet written its own keeps it
    study._storage.set_trial_user_attr(trial._trial_id, "owner", {**gone, "trial": trial.number - 1})
    assert reclaim_dead_local_trials(study) == []
    study._storage.set_trial_user_attr(trial._trial_id, "owner", {**gone, "pid": os.getpid(), "trial": trial.number})
    assert reclaim_dead_local_trials(study) == []  # its process is alive
    study._storage.set_trial_user_attr(trial._trial_id, "owner", {**gone, "trial": trial.number})
    assert reclaim_dead_local_trials(study) == [trial.number]
    retried = study.get_trials()[-1]
    assert retried.state.name == "WAITING" and retried.system_attrs["fixed_params"] == trial.params
    assert study.get_trials()[trial.number].system_attrs["fail_reason"] == "its worker died"


def test_a_worker_whose_trial_another_worker_ended_goes_on_saying_so(tmp_path, caplog):
    from zoo.interrupt import StopFlag
    from zoo.tune.study import _work

    tune_job = job(tmp_path, n_trials=2)
    study = optuna.create_study(storage=open_storage(tune_job), study_name="s")

    class TakenAwayOnce:
        """Its first trial is ended by 'another worker' (as a stale heartbeat's callback does)
        before it reports; the next one completes."""

        trial_id = None

        def __call__(self, trial):
            self.trial_id = trial._trial_id
            if trial.number == 0:
                study._storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL)
                trial.report(1.0, 1)  # UpdateFinishedTrialError, then Optuna cannot tell the trial
            return 1.0

    with caplog.at_level("WARNING", logger="optuna"):
        _work(tune_job, study, TakenAwayOnce(), StopFlag())
    assert [t.state.name for t in study.get_trials()] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert "Trial 0 was ended by another worker" in caplog.text


def test_trials_0_reports_an_existing_study(tmp_path):
    tune(job(tmp_path, n_trials=1, study_dir=tmp_path / "runs" / "tune" / "s", study_name="s"), plots=False)
    result = CliRunner().invoke(app, ["tune", "dqn", "CartPole-v1", "--trials", "0", "--study-name", "s",
                                      "--out", str(tmp_path / "runs"), "--no-plots"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "best trials of s" in result.output and "1 complete" in result.output


@pytest.mark.slow  # ~5 s; SIGTERM during training is in the default run (test_hostile.py)
def test_sigterm_stops_a_worker_and_its_trial_is_not_left_running(tmp_path):
    worker = zoo_tune(tmp_path, "--trials", 3, "--steps", 200_000, "--study-name", "s")
    tune_job = job(tmp_path, study_name="s", study_dir=tmp_path / "runs" / "tune" / "s")
    running = wait_for_running_trial("s", open_storage(tune_job))
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 143, stderr  # 128 + SIGTERM, as for zoo train
    assert "Interrupted by SIGTERM" in stderr and "Traceback" not in stderr
    trial = trials_of(tune_job)[running.number]
    assert trial.state.name == "FAIL"


@pytest.mark.slow  # ~15 s: two spawned workers
def test_sigterm_to_the_parent_alone_stops_every_worker(tmp_path):
    # what `timeout` or a scheduler does: the signal reaches the parent only, which passes it on
    parent = zoo_tune(tmp_path, "--trials", 4, "--steps", 200_000, "--study-name", "s", "--workers", 2)
    tune_job = job(tmp_path, study_name="s", study_dir=tmp_path / "runs" / "tune" / "s")
    wait_for_running_trial("s", open_storage(tune_job))
    parent.send_signal(signal.SIGTERM)
    _, stderr = parent.communicate(timeout=90)
    assert parent.returncode == 143, stderr
    assert "Interrupted by SIGTERM" in stderr and "Traceback" not in stderr
    assert not [t for t in trials_of(tune_job) if t.state.name == "RUNNING"]  # no trial left hanging


def spawned_workers(parent_pid):
    """The pids of a process's multiprocessing-spawned children (not its resource tracker)."""
    children = Path(f"/proc/{parent_pid}/task/{parent_pid}/children").read_text().split()
    workers = []
    for child in children:
        try:
            if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text():
                workers.append(int(child))
        except OSError:
            pass
    return workers


def blocked_signals(pid):
    """The signal numbers a process's main thread holds blocked, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            mask = int(line.split()[1], 16)
            return {number for number in range(1, 65) if mask >> (number - 1) & 1}
    raise AssertionError("no SigBlk line")


def test_a_ctrl_c_while_workers_are_being_started_reaches_the_parent_after_and_waits_in_the_worker():
    # CI (2026-11-26): SIGINT ignored while starting workers lost a Ctrl-C that came while the
    # last one was being started; held (blocked), it stays pending and arrives when the start ends
    import multiprocessing

    from zoo.interrupt import ctrl_c_held_for_children, ctrl_c_released, stop_on_interrupt

    with stop_on_interrupt() as stop:
        with ctrl_c_held_for_children():
            worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(30,))
            worker.start()  # the first spawn starts multiprocessing's resource tracker, which unblocks SIGINT
            # to the main thread (the mask is a thread's): os.kill may be taken by another thread of
            # pytest's process, whose C handler hands it to the main thread's handler at once (not lost)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            assert not stop.requested
            assert signal.SIGINT in blocked_signals(os.getpid())
        assert stop.requested and stop.signal_name == "SIGINT"
    try:
        assert signal.SIGINT in blocked_signals(worker.pid)  # a Ctrl-C waits in it until ctrl_c_released
    finally:
        worker.kill()
        worker.join()
    assert signal.SIGINT not in blocked_signals(os.getpid())
    with stop_on_interrupt() as stop, ctrl_c_held_for_children():  # what a worker's ctrl_c_released delivers
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        with ctrl_c_released():
            assert stop.requested
        assert signal.SIGINT in blocked_signals(os.getpid())
    assert signal.SIGINT not in blocked_signals(os.getpid())


@pytest.mark.slow  # ~10 s: two spawned workers
def test_ctrl_c_while_workers_are_still_starting_up_stops_all_without_a_traceback(tmp_path):
    parent = zoo_tune(tmp_path, "--trials", 4, "--steps", 200_000, "--study-name", "s", "--workers", 2,
                      start_new_session=True)
    deadline = time.monotonic() + 60
    while len(spawned_workers(parent.pid)) < 2:
        assert time.monotonic() < deadline and parent.poll() is None, parent.communicate()
        time.sleep(0.01)
    os.killpg(parent.pid, signal.SIGINT)  # a terminal's Ctrl-C: the workers are importing torch
    _, stderr = parent.communicate(timeout=90)
    assert parent.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    tune_job = job(tmp_path, study_name="s", study_dir=tmp_path / "runs" / "tune" / "s")
    assert not [t for t in trials_of(tune_job) if t.state.name == "RUNNING"]


@pytest.mark.slow  # ~20 s of three workers and a grace period; .ci/run's slow pass runs it on PostgreSQL
def test_postgres_two_machines_join_one_study_and_a_killed_worker_is_retried(postgres_url, tmp_path):
    args = ("--trials", 4, "--storage", postgres_url, "--study-name", "shared", "--heartbeat", 1, "--grace", 3,
            *equal_trials(tmp_path, 4000))
    # one worker is killed (SIGKILL) in the middle of a trial...
    doomed = zoo_tune(tmp_path / "a", *args)
    killed = wait_for_running_trial("shared", postgres_url, space_size=1)
    doomed.kill()
    doomed.wait()
    study = optuna.load_study(study_name="shared", storage=postgres_url)
    assert study.trials[killed.number].state.name == "RUNNING"
    # ...as if on another machine, so that only its missed heartbeats can tell it died
    elsewhere = {**killed.user_attrs["owner"], "host": "another-machine"}
    study._storage.set_trial_user_attr(killed._trial_id, "owner", elsewhere)
    # its heartbeat goes stale after --grace (3 s): wait that out, or under load the short
    # trials below could all finish before any worker looked for stale trials
    time.sleep(4)
    # ...then two workers, as on two machines, finish the study
    workers = [zoo_tune(tmp_path / name, *args) for name in ("b", "c")]
    for process in workers:
        _, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr
    trials = optuna.load_study(study_name="shared", storage=postgres_url).get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 4  # exactly N study-wide
    assert len({t.number for t in trials}) == len(trials)
    assert trials[killed.number].state.name == "FAIL"
    assert any(t.params == killed.params for t in complete)  # its parameters were tried again
    assert len({t.user_attrs["owner"]["pid"] for t in complete}) == 2  # both live workers ran trials
