"""The `zoo` command line, end to end."""

import csv
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import run_python
from typer.testing import CliRunner

from zoo.build import load_agent
from zoo.cli import app, main, rl_zoo_arguments
from zoo.errors import ZooError
from zoo.train import train


def zoo(*args, cwd=None):
    """Run the CLI in-process from `cwd` (where its runs/ folder goes)."""
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(cwd or old)
    try:
        return runner.invoke(app, rl_zoo_arguments([str(a) for a in args]))  # as main() does
    finally:
        os.chdir(old)


@pytest.mark.parametrize("width", [80, 140])
def test_list_shows_algos_and_envs(width, monkeypatch):
    from zoo import cli

    monkeypatch.setattr(cli.console, "width", width)
    result = zoo("list")
    assert result.exit_code == 0
    for name in ("epsilon_greedy", "thompson_sampling", "policy_iteration", "value_iteration",
                 "BernoulliBandit-v0", "CliffWalking4x12-v0", "FrozenLake-v1"):
        assert name in result.output
    # what each one is, readable at either width (a table, or two lines each where a table is too narrow)
    assert "twin delayed DDPG: clipped double-Q" in result.output
    assert ("┃ what it is" in result.output) == (width >= cli.LIST_TABLE_WIDTH)


def test_list_of_one_algo_shows_its_entries_and_shipped_agents(monkeypatch):
    from zoo import cli
    from zoo.paths import trained_dir

    monkeypatch.setattr(cli.console, "width", 140)
    result = zoo("list", "td3")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "Pendulum-v1" in line)
    # td3 reads ddpg.yml (and its td3 section): ours and RL Zoo's set; the agent's recorded evaluation
    evaluation = json.loads((trained_dir() / "td3" / "Pendulum-v1" / "result.json").read_text())["evaluation"]
    assert "ours, rl_zoo" in row and f"{evaluation['mean_return']:.1f} ± {evaluation['std_return']:.1f}" in row
    vision = zoo("list", "vision_dqn").output
    assert "MinAtar/Breakout-v1" in vision  # the env id, not its folder name
    assert "actor_critic: shipped" in zoo("list", "a2c").output  # RL Zoo's name
    refused = zoo("list", "nosuch")
    assert refused.exit_code == 1 and "Unknown algorithm 'nosuch'" in refused.output


def test_train_bandit_prints_regret_and_writes_a_run_dir(tmp_path):
    result = zoo("train", "ucb", "BernoulliBandit-v0", "--seed", 3, "--hp", "coefficient=0.5", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "final cumulative regret after 5000 pulls:" in result.output
    run_dir = tmp_path / "runs" / "ucb" / "BernoulliBandit-v0_1"
    # said once the run is set up, with where it goes
    assert f"Training ucb on BernoulliBandit-v0 (seed 3) in {Path('runs') / 'ucb' / 'BernoulliBandit-v0_1'}" \
        in result.output
    config = yaml.safe_load((run_dir / "config.yml").read_text())
    assert config["algo"] == "ucb" and config["seed"] == 3
    assert config["hyperparams"]["coefficient"] == 0.5
    with (run_dir / "progress.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 5000 and list(rows[0]) == ["step", "action", "reward", "cumulative_regret"]
    regret = float(rows[-1]["cumulative_regret"])
    assert f"{regret:.2f}" in result.output
    agent = load_agent(run_dir)
    assert agent.counts.sum() == 5000 and agent.config.coefficient == 0.5
    # a second run gets the next number
    assert zoo("train", "ucb", "BernoulliBandit-v0", "--steps", 50, cwd=tmp_path).exit_code == 0
    assert load_agent(tmp_path / "runs" / "ucb" / "BernoulliBandit-v0_2").counts.sum() == 50


@pytest.mark.parametrize("algo", ["dqn", "reinforce", "actor_critic"])
def test_train_deep_agents_through_the_cli(algo, tmp_path):
    result = zoo("train", algo, "CartPole-v1", "--steps", 1200, "--hp", "eval_freq=600", "--hp", "n_eval_episodes=2",
                 "--hp", "stop_at_return=null", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "steps in" in result.output and "best evaluation return" in result.output
    run_dir = tmp_path / "runs" / algo / "CartPole-v1_1"
    assert {p.name for p in run_dir.iterdir()} >= {"model.zip", "best_model.zip", "progress.csv",
                                                   "evaluations.csv", "config.yml"}
    assert load_agent(run_dir).algo == algo
    assert "No gradient update ran" not in result.output


def test_a_budget_within_the_warm_up_says_nothing_was_learned(tmp_path):
    result = zoo("train", "td3", "Pendulum-v1", "--steps", 300, "--hp", "learning_starts=1000", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "No gradient update ran in these 300 steps (learning_starts 1000, train_freq 1): the saved agent has " \
        "learned nothing." in said
    early = zoo("train", "td3", "Pendulum-v1", "--steps", 150, "--out", "early", cwd=tmp_path)  # its episodes: 200
    assert "0 episodes, no episode ended yet" in " ".join(early.output.split()) and "nan" not in early.output
    # resumed into the updates: said no more
    resumed = zoo("train", "td3", "Pendulum-v1", "--steps", 1100, "--resume", "runs/td3/Pendulum-v1_1", "--hp",
                  "learning_starts=1000", "--eval-freq", 0, cwd=tmp_path)
    assert resumed.exit_code == 0 and "No gradient update" not in resumed.output, resumed.output
    # past the warm-up, but the budget ends before the first train_freq multiple (1024): said
    short = zoo("train", "dqn", "CartPole-v1", "--steps", 1000, "--hp", "learning_starts=900", "--hp",
                "train_freq=256", "--eval-freq", 0, cwd=tmp_path)
    assert short.exit_code == 0 and "No gradient update ran in these 1000 steps (learning_starts 900, train_freq " \
        "256)" in " ".join(short.output.split()), short.output
    # one update at step 1000: not said
    one = zoo("train", "dqn", "CartPole-v1", "--steps", 1000, "--hp", "learning_starts=900", "--hp", "train_freq=200",
              "--eval-freq", 0, cwd=tmp_path)
    assert one.exit_code == 0 and "No gradient update" not in one.output, one.output


def test_a_folder_of_runs_given_for_a_run_names_one(tmp_path):
    for _ in range(2):
        assert zoo("train", "dqn", "CartPole-v1", "--steps", 50, "--eval-freq", 0, cwd=tmp_path).exit_code == 0
    assert zoo("train", "value_iteration", "CliffWalking4x12-v0", cwd=tmp_path).exit_code == 0  # newer, not asked
    newest = Path("runs") / "dqn" / "CartPole-v1_2"
    for args, flag, folder, held in (
            (["evaluate", "dqn", "CartPole-v1", "--path", "runs/dqn"], "--path", Path("runs") / "dqn", 2),
            (["enjoy", "dqn", "CartPole-v1", "--path", "runs", "--load-best"], "--path", Path("runs"), 3),
            (["train", "dqn", "CartPole-v1", "--resume", "runs"], "--resume", Path("runs"), 3)):
        result = zoo(*args, cwd=tmp_path)
        assert result.exit_code == 1, result.output
        # it said "No checkpoint at runs/dqn/model.zip", or for --resume "that run has no model.zip (it ended
        # before its final save)"
        assert f"{flag} {folder} holds {held} run folder(s) and is not one: name a run, e.g. {newest} (the newest " \
            "of dqn on CartPole-v1)." in " ".join(result.output.split()), result.output
    # a run folder is still one
    assert zoo("evaluate", "dqn", "CartPole-v1", "--path", newest, "--episodes", 1, cwd=tmp_path).exit_code == 0
    # folders of agents as trained/ ships them (model.zip, no run files): said "No checkpoint at trained/model.zip"
    from zoo.paths import trained_dir

    shipped = len(list(trained_dir().glob("*/*/model.zip")))
    for folder, held in ((trained_dir(), shipped), (trained_dir() / "dqn", 1)):
        result = zoo("evaluate", "dqn", "CartPole-v1", "--path", folder, cwd=tmp_path)
        assert result.exit_code == 1 and f"--path {folder} holds {held} agent folder(s) and is not one: name one, " \
            f"e.g. {trained_dir() / 'dqn' / 'CartPole-v1'} (dqn on CartPole-v1)." in " ".join(result.output.split())


def test_train_dp_prints_the_policy_as_arrows(tmp_path):
    result = zoo("train", "value_iteration", "CliffWalking4x12-v0", "--out", tmp_path / "elsewhere")
    assert result.exit_code == 0, result.output
    assert "→ → → → → → → → → → → ↓\n↑ C C C C C C C C C C G" in result.output
    assert "greedy policy return -13.00" in result.output
    assert (tmp_path / "elsewhere" / "value_iteration" / "CliffWalking4x12-v0_1" / "model.zip").exists()


def test_rl_zoos_budget_and_evaluation_flags(tmp_path):
    result = zoo("train", "dqn", "CartPole-v1", "-n", 2000, "--eval-freq", 500, "--eval-episodes", 3,
                 "--hp", "stop_at_return=null", cwd=tmp_path)  # -n: RL Zoo's --n-timesteps, our --steps
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["hyperparams"]["eval_freq"] == 500 and config["hyperparams"]["n_eval_episodes"] == 3
    assert config["sources"][-2:] == ["--eval-freq", "--eval-episodes"]
    with (run / "evaluations.csv").open() as file:
        assert [int(row["step"]) for row in csv.DictReader(file)] == [500, 1000, 1500, 2000]
    # RL Zoo's -1: no evaluations, and so no stop on one (the entry's stop_at_return is dropped)
    result = zoo("train", "dqn", "CartPole-v1", "--steps", 1500, "--eval-freq", -1, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "runs" / "dqn" / "CartPole-v1_2" / "config.yml").read_text())
    assert config["hyperparams"]["eval_freq"] == 0 and config["hyperparams"]["stop_at_return"] is None
    assert len((tmp_path / "runs" / "dqn" / "CartPole-v1_2" / "evaluations.csv").read_text().splitlines()) == 1
    for args, says in ((["dqn", "CartPole-v1", "--eval-episodes", 0], "--eval-episodes: n_eval_episodes must be"),
                       (["ucb", "BernoulliBandit-v0", "--eval-freq", 10], "no periodic evaluations"),
                       (["dqn", "CartPole-v1", "--n-eval-envs", -1], "--n-eval-envs: n_eval_envs must be >= 0"),
                       (["dqn", "CartPole-v1", "--n-eval-envs", 257], "--n-eval-envs: n_eval_envs must be at most 256"),
                       (["ucb", "BernoulliBandit-v0", "--n-eval-envs", 1], "no periodic evaluations")):
        result = zoo("train", *args, cwd=tmp_path)
        assert result.exit_code == 1 and says in result.output, result.output


def test_rl_zoos_log_interval_prints_a_line_every_n_training_episodes_and_track_is_refused(tmp_path):
    result = zoo("train", "dqn", "CartPole-v1", "-n", 1500, "--log-interval", 20, "--no-progress", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    with (tmp_path / "runs" / "dqn" / "CartPole-v1_1" / "progress.csv").open() as file:
        episodes = list(csv.DictReader(file))
    lines = re.findall(r"^step (\d+): episode (\d+), mean return ([\d.]+) over the last (\d+)", result.output,
                       re.MULTILINE)
    assert [int(number) for _, number, _, _ in lines] == list(range(20, len(episodes) + 1, 20)) and lines
    for step, number, mean, window in lines:  # each as the log has it
        returns = [float(row["return"]) for row in episodes[max(0, int(number) - 100):int(number)]]
        assert int(window) == len(returns) and abs(float(mean) - sum(returns) / len(returns)) < 0.01
        assert int(step) == int(episodes[int(number) - 1]["step"])
    result = zoo("train", "ucb", "BernoulliBandit-v0", "--log-interval", 5, cwd=tmp_path)
    assert result.exit_code == 1 and "--log-interval is for the deep-RL algos" in result.output, result.output
    result = zoo("train", "dqn", "CartPole-v1", "--track", cwd=tmp_path)  # RL Zoo's wandb: said, not "No such option"
    assert result.exit_code == 1 and "--track (RL Zoo's Weights & Biases logging) is not in zoo" in result.output
    assert not (tmp_path / "runs" / "dqn" / "CartPole-v1_2").exists()


@pytest.mark.parametrize("flags, n_envs", [([], 5), (["--n-eval-envs", 1], 1), (["--n-eval-envs", 2], 2),
                                           (["--n-eval-envs", 64], 5)])
def test_rl_zoos_n_eval_envs_sets_how_many_envs_an_evaluation_plays_on(flags, n_envs, tmp_path, monkeypatch):
    # RL Zoo's README: train.py ... --eval-freq 10000 --eval-episodes 10 --n-eval-envs 1
    from zoo.environments import EnvDescription

    asked = []
    make_for_evaluation = EnvDescription.make_for_evaluation
    monkeypatch.setattr(EnvDescription, "make_for_evaluation",
                        lambda self, n: asked.append(n) or make_for_evaluation(self, n))
    result = zoo("train", "dqn", "CartPole-v1", "-n", 600, "--eval-freq", 300, "--eval-episodes", 5, *flags,
                 cwd=tmp_path)
    assert result.exit_code == 0 and asked == [n_envs], (asked, result.output)
    with (tmp_path / "runs" / "dqn" / "CartPole-v1_1" / "evaluations.csv").open() as file:
        assert [int(row["step"]) for row in csv.DictReader(file)] == [300, 600]


def test_rl_zoos_flag_names(tmp_path):
    # -f/--log-folder for --out, -i/--trained-agent for --resume, -f/--folder for --runs-dir, --gym-packages
    assert zoo("train", "dqn", "CartPole-v1", "-n", 200, "-f", "logs", "--eval-freq", 0, cwd=tmp_path).exit_code == 0
    resumed = zoo("train", "dqn", "CartPole-v1", "-n", 400, "-i", "logs/dqn/CartPole-v1_1", "--log-folder", "logs",
                  "--eval-freq", 0, "--gym-packages", "multi_action_envs", cwd=tmp_path)
    assert resumed.exit_code == 0 and "resumed at step 200" in resumed.output, resumed.output
    evaluated = zoo("evaluate", "dqn", "CartPole-v1", "--folder", "logs", "--episodes", 1, "--json", cwd=tmp_path)
    assert json.loads(evaluated.stdout)["checkpoint"] == str(Path("logs") / "dqn" / "CartPole-v1_2" / "model.zip")
    assert not (tmp_path / "runs").exists()
    # --exp-id N: the run <env>_N (0: the latest), in evaluate, enjoy and upload; enjoy --no-render
    for exp_id, run in ((1, "CartPole-v1_1"), (0, "CartPole-v1_2")):
        evaluated = zoo("evaluate", "dqn", "CartPole-v1", "-f", "logs", "--exp-id", exp_id, "--episodes", 1, "--json",
                        cwd=tmp_path)
        assert json.loads(evaluated.stdout)["checkpoint"] == str(Path("logs") / "dqn" / run / "model.zip")
    played = zoo("enjoy", "dqn", "CartPole-v1", "-f", "logs", "--exp-id", 1, "--episodes", 1, "--no-render",
                 cwd=tmp_path)
    assert played.exit_code == 0 and "CartPole-v1_1" in played.output, played.output
    packaged = zoo("upload", "dqn", "CartPole-v1", "-f", "logs", "--exp-id", 1, "--repo-id", "me/x", "--no-video",
                   "--episodes", 1, "--out", "packaged", cwd=tmp_path)
    assert packaged.exit_code == 0 and "CartPole-v1_1" in packaged.output, packaged.output
    for args, says in ((["--exp-id", 7], "--exp-id 7: no run logs/dqn/CartPole-v1_7 (the runs of dqn on CartPole-v1 "
                                         "there: 1, 2)"),
                       (["--exp-id", 1, "--path", "logs/dqn/CartPole-v1_1"], "Give either --exp-id or --path"),
                       (["--exp-id", -1], "--exp-id is a run's number (0: the latest), got -1")):
        refused = zoo("evaluate", "dqn", "CartPole-v1", "-f", "logs", *args, cwd=tmp_path)
        assert refused.exit_code == 1 and says in refused.output.replace("\n", " "), refused.output
    # --save-replay-buffer and --num-threads set their hyperparameters, each a layer named by its flag
    kept = zoo("train", "dqn", "CartPole-v1", "-n", 200, "--save-replay-buffer", "--num-threads", 2, "--eval-freq",
               0, cwd=tmp_path)
    assert kept.exit_code == 0, kept.output
    run = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["hyperparams"]["n_threads"] == 2 and (run / "replay_buffer.npz").is_file()
    assert {"--save-replay-buffer", "--num-threads"} <= set(config["sources"])
    # -P (RL Zoo's) shows the progress bar, as by default; --no-progress leaves the summary alone
    for flag, bar in (("-P", True), ("--no-progress", False)):
        shown = zoo("train", "dqn", "CartPole-v1", "-n", 300, "--eval-freq", 0, flag, cwd=tmp_path)
        assert shown.exit_code == 0 and ("━" in shown.output) == bar and "300 steps in" in shown.output, shown.output
    # --vec-env subproc: RL Zoo's name of async vectorization, a layer named by its flag
    async_run = zoo("train", "actor_critic", "CartPole-v1", "-n", 40, "--n-envs", 2, "--vec-env", "subproc",
                    "--eval-freq", 0, cwd=tmp_path)
    assert async_run.exit_code == 0, async_run.output
    config = yaml.safe_load((tmp_path / "runs" / "actor_critic" / "CartPole-v1_1" / "config.yml").read_text())
    assert config["hyperparams"]["vectorization"] == "async" and "--vec-env" in config["sources"]
    for args, says in ((["dqn", "CartPole-v1", "--vec-env", "subproc"], "dqn (off_policy) steps one env"),
                       (["ppo", "CartPole-v1", "--vec-env", "fork"], "--vec-env is dummy or subproc"),
                       (["ppo", "CartPole-v1", "--save-replay-buffer"], "ppo (on_policy) has no replay buffer"),
                       (["dqn", "CartPole-v1", "--num-threads", -1], "--num-threads: n_threads must be >= 0")):
        refused = zoo("train", *args, cwd=tmp_path)
        assert refused.exit_code == 1 and says in refused.output, refused.output


def test_rl_zoos_list_valued_flags_read_as_zoos_repeatable_ones():
    words = ["train", "ppo", "CartPole-v1", "--env-kwargs", "g:9.8", "render_mode:'rgb_array'", "--hyperparams",
             "learning_rate:0.01", "policy_kwargs:dict(net_arch=[64])", "--seed", "3"]
    assert rl_zoo_arguments(words) == [
        "train", "ppo", "CartPole-v1", "--env-kwargs", "g:9.8", "--env-kwargs", "render_mode:'rgb_array'",
        "--rl-zoo-hyperparam", "learning_rate:0.01", "--rl-zoo-hyperparam", "policy_kwargs:dict(net_arch=[64])",
        "--seed", "3"]
    optimize = ["train", "ppo", "CartPole-v1", "-optimize", "--n-trials", "9", "-params", "a:1"]
    assert rl_zoo_arguments(optimize) == ["tune", "ppo", "CartPole-v1", "--n-trials", "9",
                                          "--rl-zoo-hyperparam", "a:1"]  # zoo tune
    assert rl_zoo_arguments(["--env-kwargs=g:9.8", "a:1", "--hyperparams=rl_zoo"]) == [
        "--env-kwargs", "g:9.8", "--env-kwargs", "a:1", "--hyperparams=rl_zoo"]
    # zoo's own --hyperparams (a set, a file), words after "--", a flag without a key:value word: as typed
    for words in (["train", "ppo", "CartPole-v1", "--hyperparams", "rl_zoo"],
                  ["train", "ppo", "--", "--hyperparams", "a:1"],
                  ["train", "ppo", "--env-kwargs", "--seed", "1"],
                  ["train", "ppo", "--env-kwargs", "g-force:1"]):
        assert rl_zoo_arguments(words) == words


def test_rl_zoos_algo_and_env_flags_are_zoos_positional_arguments(tmp_path, monkeypatch, capsys):
    # RL Zoo's scripts take `--algo ppo --env CartPole-v1`: "No such option: --algo" before
    for words, expected in (
            (["train", "--algo", "ppo", "--env", "CartPole-v1", "-n", "5"], ["train", "ppo", "CartPole-v1", "-n", "5"]),
            (["enjoy", "--env=CartPole-v1", "--algo", "ppo"], ["enjoy", "ppo", "CartPole-v1"]),
            (["train", "ppo", "--env", "CartPole-v1", "--seed", "1"], ["train", "ppo", "CartPole-v1", "--seed", "1"]),
            (["train", "--algo", "ppo", "CartPole-v1"], ["train", "ppo", "CartPole-v1"]),
            (["train", "-optimize", "--algo", "ppo", "--env", "Pendulum-v1", "--n-trials", "3"],
             ["tune", "ppo", "Pendulum-v1", "--n-trials", "3"]),
            (["evaluate", "--algo", "ppo", "--env"], ["evaluate", "ppo", "--env"]),  # no value: Click names it
            (["plot", "--env", "x"], ["plot", "--env", "x"]),  # a command without them
            (["train", "ppo", "CartPole-v1", "--", "--algo", "x"],
             ["train", "ppo", "CartPole-v1", "--", "--algo", "x"])):
        assert rl_zoo_arguments(words) == expected, words
    assert "note" not in capsys.readouterr().err
    # one of them alone: RL Zoo's train and enjoy default the other (ppo, CartPole-v1), said
    for words, expected, said in (
            (["train", "--env", "Pendulum-v1", "-n", "5"], ["train", "ppo", "Pendulum-v1", "-n", "5"], "--algo"),
            (["enjoy", "--algo=sac"], ["enjoy", "sac", "CartPole-v1"], "--env"),
            (["train", "-optimize", "--algo", "dqn"], ["tune", "dqn", "CartPole-v1"], "--env")):
        assert rl_zoo_arguments(words) == expected, words
        assert f"note: no {said}: RL Zoo's default" in capsys.readouterr().err
    assert rl_zoo_arguments(["upload", "--algo", "ppo"]) == ["upload", "ppo"]  # push_to_hub requires both
    monkeypatch.chdir(tmp_path)
    for words in (["train", "--algo", "dqn", "--env", "CartPole-v1", "-n", "200", "--eval-freq", "0"],
                  ["enjoy", "--algo", "dqn", "--env", "CartPole-v1", "-n", "50", "--no-render"]):
        monkeypatch.setattr(sys, "argv", ["zoo", *words])
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code == 0, capsys.readouterr()
    assert "runs/dqn/CartPole-v1_1/model.zip" in capsys.readouterr().out


def test_rl_zoos_gym_packages_list_takes_installed_modules_only():
    words = ["train", "ppo", "CartPole-v1", "--gym-packages", "envs", "json", "os.path", "--seed", "1"]
    assert rl_zoo_arguments(words) == ["train", "ppo", "CartPole-v1", "--gym-packages", "envs", "--gym-packages",
                                       "json", "--gym-packages", "os.path", "--seed", "1"]
    # an algo or env id after it is no module: left as typed (positional), as before
    for words in (["train", "--gym-packages", "envs", "ppo", "CartPole-v1"],
                  ["train", "ppo", "CartPole-v1", "--gym-packages", "envs", "no_such_module_here"]):
        assert rl_zoo_arguments(words) == words


def test_a_word_the_module_finders_refuse_is_no_module(monkeypatch):
    # `zoo ... --gym-packages envs __main__` in the `zoo` script: __main__'s spec is None, and
    # find_spec raised ValueError (a traceback)
    import importlib.util

    from zoo.cli import _installed_module

    def refuse(name, package=None):
        raise ValueError(f"{name}.__spec__ is None")

    monkeypatch.setattr(importlib.util, "find_spec", refuse)
    assert not _installed_module("__main__")


def test_rl_zoos_verbose_and_conf_file_train(tmp_path):
    (tmp_path / "mine.yml").write_text("CartPole-v1:\n  learning_rate: 0.02\n  n_timesteps: 300\n")
    quiet = zoo("train", "dqn", "CartPole-v1", "--verbose", 0, "-conf", "mine.yml", "--eval-freq", -1, cwd=tmp_path)
    assert quiet.exit_code == 0 and "━" not in quiet.output and "300 steps in" in quiet.output, quiet.output
    saved = yaml.safe_load((tmp_path / "runs" / "dqn" / "CartPole-v1_1" / "config.yml").read_text())
    assert saved["hyperparams"]["learning_rate"] == 0.02
    shown = zoo("train", "dqn", "CartPole-v1", "--verbose", 1, "--conf-file", "mine.yml", "--eval-freq", -1,
                cwd=tmp_path)
    assert shown.exit_code == 0 and "━" in shown.output
    refused = zoo("train", "dqn", "CartPole-v1", "--verbose", 3, cwd=tmp_path)
    assert refused.exit_code == 2 and "--verbose" in refused.output


def test_rl_zoos_env_kwargs_and_hyperparams_flags_train(tmp_path, monkeypatch):
    # through main(), as the `zoo` script runs: RL Zoo's words, its Python None included
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["zoo", "train", "dqn", "CartPole-v1", "-n", "200", "--eval-freq", "0",
                                      "--env-kwargs", "sutton_barto_reward:True", "max_episode_steps:None",
                                      "--hyperparams", "learning_rate:0.01", "batch_size:16"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    run = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
    saved = yaml.safe_load((run / "config.yml").read_text())
    assert saved["env_kwargs"] == {"sutton_barto_reward": True, "max_episode_steps": None}
    assert saved["hyperparams"]["learning_rate"] == 0.01 and saved["hyperparams"]["batch_size"] == 16
    assert {"--hyperparams", "--env-kwargs"} <= set(saved["sources"])
    # errors name the flag typed, RL Zoo's or zoo's, for train, tune and benchmark alike
    for command in ("train", "tune", "benchmark"):
        for args, says in ((["--hyperparams", "n_steps:abc"], "--hyperparams: hyperparameter 'n_steps' must be int"),
                           (["-params", "n_stepz:64"], "--hyperparams: unknown hyperparameter 'n_stepz'"),
                           (["--hp", "n_steps=64", "--hyperparams", "n_stepz:64"],
                            "--hp and --hyperparams: unknown hyperparameter 'n_stepz'"),
                           (["--hp", "n_stepz=64"], "--hp: unknown hyperparameter 'n_stepz'")):
            refused = zoo(command, "ppo", "CartPole-v1", *args, cwd=tmp_path)
            assert refused.exit_code == 1 and says in refused.output, (command, args, refused.output)
    # the library's hyperparams= names sets and files only; RL Zoo's form there gets the --hp hint
    with pytest.raises(ZooError, match="RL Zoo's --hyperparams learning_rate:0.01 is --hp learning_rate=0.01 here"):
        train("dqn", "CartPole-v1", n_timesteps=100, hyperparams="learning_rate:0.01", out_dir=tmp_path / "lib")
    assert load_agent(run / "model.zip").env_kwargs["sutton_barto_reward"] is True  # enjoy plays that env
    # over the entry's env_kwargs, the flag last: a bad keyword is gym.make's error, one line
    for args, says in ((["--env-kwargs", "gravity"], "--env-kwargs expects key:value"),
                       (["--env-kwargs", "x:{a:b}"], "YAML needs a space after the colon"),
                       (["--env-kwargs", "no_such_kwarg:1"], "no_such_kwarg"),
                       (["--resume", run, "-n", 400, "--env-kwargs", "sutton_barto_reward:False"],
                        "--resume trains on the env the run was made with"),
                       (["--resume", run, "-n", 400, "--hp", "env_kwargs={sutton_barto_reward: false}"],
                        "drop env_kwargs from --hp")):
        refused = zoo("train", "dqn", "CartPole-v1", *args, cwd=tmp_path)
        assert refused.exit_code == 1 and says in refused.output, (args, refused.output)


@pytest.mark.parametrize("words, says", [
    # RL Zoo's names of zoo's flags: the error named zoo's (--workers), which the user never typed
    (["tune", "ppo", "CartPole-v1", "--n-jobs", "0"], "error: --n-jobs must be at least 1, got 0."),
    (["train", "ppo", "CartPole-v1", "-optimize", "--n-jobs", "0"], "error: --n-jobs must be at least 1, got 0."),
    (["train", "ppo", "CartPole-v1", "-n", "0"], "error: -n must be at least 1, got 0."),
    (["train", "ppo", "CartPole-v1", "--n-timesteps", "0"], "error: --n-timesteps must be at least 1, got 0."),
    (["train", "ppo", "CartPole-v1", "--steps", "0"], "error: --steps must be at least 1, got 0."),
    (["tune", "ppo", "CartPole-v1", "--max-total-trials", "-1"], "error: --max-total-trials must be at least 0"),
    # a message naming two spellings at once ("-n/--n-timesteps") names the one typed
    (["enjoy", "ppo", "CartPole-v1", "-n", "0"], "error: -n must be at least 1 (env steps to play), got 0."),
    (["enjoy", "ppo", "CartPole-v1", "--folder", "nothing"], "(--folder nothing; the"),
])
def test_an_error_names_the_flag_as_the_user_typed_it(words, says, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["zoo", *words])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert says in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_rl_zoos_random_seed_uuid_and_truncate_last_trajectory(tmp_path, capsys):
    # RL Zoo's --seed -1 draws a seed: said, and recorded where a rerun finds it
    result = zoo("train", "dqn", "CartPole-v1", "-n", 200, "--seed", -1, "-uuid", "--truncate-last-trajectory",
                 "False", "--eval-freq", 0, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    drawn = int(re.search(r"note: --seed -1 drew seed (\d+); --seed \1 trains this run again", said).group(1))
    saved = yaml.safe_load((tmp_path / "runs" / "dqn" / "CartPole-v1_1" / "config.yml").read_text())
    assert saved["seed"] == drawn and f"(seed {drawn})" in said
    assert "note: --uuid has nothing to do here: zoo's run folders never race" in said
    assert "note: --truncate-last-trajectory has nothing to do here: zoo has no HER replay buffer" in said
    refused = zoo("train", "dqn", "CartPole-v1", "--seed", -2, cwd=tmp_path)
    assert refused.exit_code == 1 and "or -1 for a random one, got -2" in refused.output
    # -optimize: tune has no use for them, each left out with a note
    rl_zoo_arguments(["train", "dqn", "CartPole-v1", "-optimize", "--uuid", "--truncate-last-trajectory", "True"])
    noted = " ".join(capsys.readouterr().err.split())
    assert "note: --uuid left out of zoo tune" in noted and "note: --truncate-last-trajectory True left out" in noted


def test_rl_zoos_weights_and_biases_names_without_track_are_noted(tmp_path, capsys):
    # RL Zoo's train reads them only with --track (which zoo refuses): a note, and the run goes on
    result = zoo("train", "dqn", "CartPole-v1", "-n", 200, "--eval-freq", 0, "--wandb-project-name", "sb3",
                 "--wandb-entity", "me", "-tags", "optimized", "pr-123", "--wandb-group", "g", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert ("note: --wandb-project-name, --wandb-entity, --wandb-group, --wandb-tags name a Weights & Biases run, "
            "which RL Zoo makes only with --track: nothing to do here.") in said
    refused = zoo("train", "dqn", "CartPole-v1", "--track", "--wandb-project-name", "sb3", cwd=tmp_path)
    assert refused.exit_code == 1 and "--track (RL Zoo's Weights & Biases logging) is not in zoo" in refused.output
    # -tags takes the words up to the next flag, as argparse's nargs="+"
    assert rl_zoo_arguments(["train", "dqn", "CartPole-v1", "-tags", "a", "b", "-n", "5"]) == \
        ["train", "dqn", "CartPole-v1", "-tags", "a", "-tags", "b", "-n", "5"]
    # -optimize: left out of zoo tune, the tags with all their words
    command = rl_zoo_arguments(["train", "dqn", "CartPole-v1", "-optimize", "-tags", "a", "b", "--wandb-entity",
                                "me", "--n-trials", "2"])
    assert command == ["tune", "dqn", "CartPole-v1", "--n-trials", "2"]
    noted = " ".join(capsys.readouterr().err.split())
    assert "note: -tags a b left out of zoo tune" in noted and "note: --wandb-entity me left out" in noted


def test_eval_env_kwargs_change_the_evaluation_envs_alone(tmp_path):
    # RL Zoo's --eval-env-kwargs: evaluations on CartPole cut at 20 steps, training on the plain env
    trained = zoo("train", "dqn", "CartPole-v1", "-n", 1000, "--eval-freq", 500, "--eval-episodes", 3,
                  "--eval-env-kwargs", "max_episode_steps:20", "sutton_barto_reward:True", cwd=tmp_path)
    assert trained.exit_code == 0, trained.output
    run = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
    evaluations = (run / "evaluations.csv").read_text().splitlines()[1:]
    assert len(evaluations) == 2 and all(float(row.split(",")[3]) <= 20 for row in evaluations)
    saved = yaml.safe_load((run / "config.yml").read_text())
    assert saved["eval_env_kwargs"] == {"max_episode_steps": 20, "sutton_barto_reward": True}
    assert saved["env_kwargs"] == {} and load_agent(run / "model.zip").env_kwargs == {}  # enjoy plays the training env
    lengths = [int(row.split(",")[3]) for row in (run / "progress.csv").read_text().splitlines()[1:]]
    assert max(lengths) > 20  # the training episodes were not cut
    resumed = zoo("train", "dqn", "CartPole-v1", "--resume", run, "-n", 1500, "--eval-freq", 500,
                  "--eval-env-kwargs", "max_episode_steps:10", cwd=tmp_path)
    assert resumed.exit_code == 0, resumed.output
    again = tmp_path / "runs" / "dqn" / "CartPole-v1_2"
    assert all(float(row.split(",")[3]) <= 10 for row in (again / "evaluations.csv").read_text().splitlines()[1:])
    (tmp_path / "refused").mkdir()
    for env_id, args, says in (
            # FrozenLake's 8x8 map has 64 states, its 4x4 one 16 (one-hot): not the agent's observations
            ("FrozenLake-v1", ["--eval-freq", 500, "--eval-env-kwargs", "map_name:8x8"],
             "--eval-env-kwargs {'map_name': '8x8'} makes an env with observation space Box(0, 1, (64,), int64), the "
             "training env's is Box(0, 1, (16,), int64)"),
            ("CartPole-v1", ["--eval-freq", 0, "--eval-env-kwargs", "max_episode_steps:20"],
             "--eval-env-kwargs is for the periodic evaluations, and this run has none (eval_freq 0)"),
            ("CartPole-v1", ["--eval-env-kwargs", "max_episode_stepz:20"],
             "--eval-env-kwargs: CartPole-v1 takes no argument 'max_episode_stepz'")):
        refused = zoo("train", "dqn", env_id, "-n", 1000, *args, cwd=tmp_path / "refused")
        assert refused.exit_code == 1 and says in " ".join(refused.output.split()), refused.output
    assert not (tmp_path / "refused" / "runs").exists()


def test_evaluate_and_enjoy_play_the_agent_on_the_env_changed_by_env_kwargs(tmp_path):
    # RL Zoo's enjoy --env-kwargs: the shipped DQN (500 a CartPole episode) in episodes cut at 50
    cut = zoo("evaluate", "dqn", "CartPole-v1", "--episodes", 2, "--json", "--env-kwargs", "max_episode_steps:50",
              cwd=tmp_path)
    assert cut.exit_code == 0 and json.loads(cut.output)["lengths"] == [50, 50], cut.output
    played = zoo("enjoy", "dqn", "CartPole-v1", "--episodes", 1, "--env-kwargs", "max_episode_steps:40", cwd=tmp_path)
    assert played.exit_code == 0 and "episode 1: return 40.00, length 40" in played.output, played.output
    # RL Zoo's enjoy --num-threads sets torch's threads for the play
    import torch

    before = torch.get_num_threads()
    try:
        threads = 1 if before != 1 else 2
        played = zoo("evaluate", "dqn", "CartPole-v1", "--episodes", 1, "--num-threads", threads, cwd=tmp_path)
        assert played.exit_code == 0 and torch.get_num_threads() == threads, played.output
    finally:
        from zoo.threads import set_training_threads

        set_training_threads(before)  # torch's and numpy's BLAS, as the flag set them
    assert zoo("enjoy", "dqn", "CartPole-v1", "--num-threads", -1, cwd=tmp_path).exit_code == 2  # Click: >= 0
    for command, args, says in (
            ("evaluate", ["--env-kwargs", "max_episode_stepz:50"], "--env-kwargs: CartPole-v1 takes no argument "
                                                                   "'max_episode_stepz'"),
            ("enjoy", ["--env-kwargs", "sutton_barto_reward:.inf"], "--env-kwargs: env_kwargs "
                                                                    "'sutton_barto_reward' must be a finite number"),
            # another space than the agent's: the flag named as the cause
            ("enjoy", ["--env-kwargs", "n_arms:3"], "was saved for action space Discrete(10), not Discrete(3): the "
                                                    "env as --env-kwargs {'n_arms': 3} makes it.")):
        env_id = "BernoulliBandit-v0" if "n_arms:3" in args else "CartPole-v1"
        algo = "epsilon_greedy" if env_id == "BernoulliBandit-v0" else "dqn"
        refused = zoo(command, algo, env_id, *args, cwd=tmp_path)
        said = " ".join(refused.output.split())
        assert refused.exit_code == 1 and says in said and "Traceback" not in said, said


def test_enjoy_n_plays_that_many_env_steps_as_rl_zoos(tmp_path):
    # the shipped value-iteration agent walks CliffWalking's 13-step path: 30 steps are two
    # whole episodes and 4 steps of a third, which is not in the results
    played = zoo("enjoy", "value_iteration", "CliffWalking4x12-v0", "-n", 30, cwd=tmp_path)
    assert played.exit_code == 0 and "episode 2: return -13.00, length 13" in played.output, played.output
    assert "episode 3" not in played.output
    one = zoo("enjoy", "value_iteration", "CliffWalking4x12-v0", "-n", 30, "--episodes", 1, cwd=tmp_path)
    assert "episode 1:" in one.output and "episode 2" not in one.output  # both limits hold
    short = zoo("enjoy", "value_iteration", "CliffWalking4x12-v0", "--n-timesteps", 5, cwd=tmp_path)
    assert short.exit_code == 0 and "no episode ended within the 5 steps" in short.output, short.output
    refused = zoo("enjoy", "value_iteration", "CliffWalking4x12-v0", "-n", 0, cwd=tmp_path)
    assert refused.exit_code == 1 and "-n/--n-timesteps must be at least 1" in refused.output


def test_rl_zoos_enjoy_flags_progress_verbose_reward_log_and_the_two_with_nothing_to_do(tmp_path):
    from zoo.rl_zoo_logs import _monitor_episodes

    result = zoo("enjoy", "dqn", "CartPole-v1", "-n", 1200, "-P", "--reward-log", tmp_path / "rewards",
                 "--norm-reward", "--custom-objects", cwd=tmp_path)  # the shipped agent
    assert result.exit_code == 0, result.output
    assert "playing" in result.output and "1200/1200" in result.output  # the bar, of -n's steps
    assert "note: --norm-reward has nothing to do here" in result.output
    assert "note: --custom-objects has nothing to do here" in result.output
    played = [float(r) for r in re.findall(r"episode \d+: return ([\d.]+)", result.output)]
    header = (tmp_path / "rewards" / "0.monitor.csv").read_text().splitlines()[0]
    assert header.startswith('#{"t_start": ') and header.endswith('"env_id": "CartPole-v1"}')
    steps, seconds, returns = _monitor_episodes(tmp_path / "rewards")  # as zoo plot reads RL Zoo's
    assert list(returns) == played and steps[-1] <= 1200 and (np.diff(seconds) >= 0).all() and len(played) >= 2
    result = zoo("enjoy", "dqn", "CartPole-v1", "--episodes", 1, "--verbose", 0, cwd=tmp_path)
    assert result.exit_code == 0 and result.output == "", result.output
    from zoo.rl_zoo_logs import MonitorLog

    log = MonitorLog(tmp_path / "cut", "CartPole-v1")  # each episode on disk as it ends: a cut play keeps them
    log.add(12.5, 12)
    rows = (tmp_path / "cut" / "0.monitor.csv").read_text().splitlines()  # before close
    assert rows[1] == "r,l,t" and rows[2].startswith("12.5,12,") and len(rows) == 3
    log.close()
    (tmp_path / "a_file").write_text("")
    result = zoo("enjoy", "dqn", "CartPole-v1", "--reward-log", tmp_path / "a_file", cwd=tmp_path)
    assert result.exit_code == 1 and "--reward-log" in result.output and "is a file" in result.output
    assert "Playing" not in result.output  # refused before the play


def test_n_envs_plays_the_episodes_in_lockstep_env_i_seeded_seed_plus_i(tmp_path):
    run = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path, overrides={
        "n_timesteps": 300, "learning_starts": 1000, "eval_freq": 0, "stop_at_return": None}).run_dir  # returns vary

    def played(*flags):
        result = zoo("evaluate", "dqn", "CartPole-v1", "--path", run, "--json", *flags, cwd=tmp_path)
        assert result.exit_code == 0, result.output
        stats = json.loads(result.output)
        return sorted(zip(stats["returns"], stats["lengths"]))

    together = played("--n-envs", 3, "--episodes", 3, "--seed", 5)
    alone = sorted(pair for i in range(3) for pair in played("--episodes", 1, "--seed", 5 + i))
    assert together == alone and len(set(together)) > 1  # each env's episode is its seed's
    assert played("--n-envs", 3, "--episodes", 7, "--seed", 5) == played("--n-envs", 3, "--episodes", 7, "--seed", 5)
    result = zoo("enjoy", "dqn", "CartPole-v1", "--path", run, "--n-envs", 4, "--episodes", 5, cwd=tmp_path)
    assert result.exit_code == 0 and len(re.findall(r"^episode \d+: return", result.output, re.MULTILINE)) == 5
    result = zoo("evaluate", "dqn", "CartPole-v1", "--path", run, "--n-envs", 257, cwd=tmp_path)  # live envs: bounded
    assert result.exit_code == 2 and "--n-envs': Input should be less than or equal to 256" in result.output
    for verb, flags, says in (("enjoy", ["--render"], "drop --render"), ("enjoy", ["-n", 50], "drop -n"),
                              ("evaluate", ["--stochastic"], "drop --stochastic")):
        result = zoo(verb, "dqn", "CartPole-v1", "--path", run, "--n-envs", 2, *flags, cwd=tmp_path)
        assert result.exit_code == 1 and "--n-envs 2 plays deterministic episodes in lockstep" in result.output \
            and says in result.output, result.output


def test_rl_zoos_runs_and_sb3_models_are_named_as_such_and_never_opened(tmp_path):
    import zipfile

    # RL Zoo's layout: logs/<algo>/<env>_<n>/ holding <env>.zip (SB3's model) and <env>/{args,config}.yml
    run = tmp_path / "logs" / "ppo" / "CartPole-v1_1"
    (run / "CartPole-v1").mkdir(parents=True)
    for name in ("args.yml", "config.yml"):
        (run / "CartPole-v1" / name).write_text("- - env\n  - CartPole-v1\n")
    with zipfile.ZipFile(run / "CartPole-v1.zip", "w") as archive:
        archive.writestr("data", "{}")
        archive.writestr("policy.pth", b"\x80\x02 a pickle, never read")
    said = "CartPole-v1_1 is an RL Zoo (Stable-Baselines3) run, not zoo's"
    for args, says in (
            (["-f", "logs"], said),  # was: played the agent shipped in trained/ instead, silently
            (["--path", "logs/ppo/CartPole-v1_1"], said),  # was: "name a run, e.g. .../CartPole-v1"
            (["--path", "logs/ppo/CartPole-v1_1/CartPole-v1.zip"], "is a Stable-Baselines3 model (RL Zoo's), not a "
                                                                   "zoo checkpoint"),
            (["-f", "elsewhere"], "No ppo run for CartPole-v1 under elsewhere/ppo (-f/--runs-dir elsewhere; the "
                                  "agents shipped in trained/ are played without it)")):
        refused = zoo("evaluate", "ppo", "CartPole-v1", *args, cwd=tmp_path)
        assert refused.exit_code == 1 and says in refused.output.replace("\n", " "), (args, refused.output)
    # without -f, the shipped agent as before
    assert zoo("evaluate", "ppo", "CartPole-v1", "--episodes", 1, cwd=tmp_path).exit_code == 0


def test_evaluate_and_enjoy_use_the_latest_run(tmp_path):
    assert zoo("train", "policy_iteration", "CliffWalking4x12-v0", cwd=tmp_path).exit_code == 0
    result = zoo("evaluate", "policy_iteration", "CliffWalking4x12-v0", "--episodes", 3, "--json", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["returns"] == [-13.0, -13.0, -13.0] and stats["mean_length"] == 13
    assert stats["checkpoint"].endswith("CliffWalking4x12-v0_1/model.zip")
    table = zoo("evaluate", "policy-iteration", "CliffWalking4x12-v0", "--episodes", 2, cwd=tmp_path)
    assert table.exit_code == 0 and "-13.00 ± 0.00" in table.output

    enjoy = zoo("enjoy", "policy_iteration", "CliffWalking4x12-v0", "--render", "--episodes", 1, cwd=tmp_path)
    assert enjoy.exit_code == 0, enjoy.output
    frames = [frame for frame in enjoy.output.split("\n\n") if "C  C  C" in frame]
    assert len(frames) == 14  # the start and one frame per step of the 13-step path
    assert frames[0].splitlines()[-1].startswith("x  C") and frames[-1].rstrip().endswith("C  x")
    assert "episode 1: return -13.00, length 13" in enjoy.output


def test_rl_zoos_a2c_is_actor_critic(tmp_path):
    # the name an RL Zoo user types: the same algorithm, recorded under zoo's name
    result = zoo("train", "A2C", "CartPole-v1", "--steps", 64, "--hp", "n_envs=1", "--hp", "n_steps=16", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "Training actor_critic on CartPole-v1" in result.output
    run_dir = tmp_path / "runs" / "actor_critic" / "CartPole-v1_1"
    assert load_agent(run_dir).algo == "actor_critic"
    evaluated = zoo("evaluate", "a2c", "CartPole-v1", "--episodes", 1, "--json", cwd=tmp_path)
    assert evaluated.exit_code == 0 and json.loads(evaluated.stdout)["checkpoint"].startswith(str(Path("runs") /
                                                                                               "actor_critic"))
    listing = " ".join(zoo("list").output.split())  # 80 columns here: two lines per algorithm
    assert "actor_critic (on_policy; Box, Dict, Tuple, Discrete, MultiDiscrete, MultiBinary -> Discrete, " \
        "MultiDiscrete, MultiBinary, Box) advantage actor-critic" in listing
    assert "RL Zoo's a2c" in listing


def test_enjoy_without_render_and_evaluate_a_bandit_on_its_training_problem(tmp_path):
    assert zoo("train", "thompson_sampling", "BernoulliBandit-v0", "--steps", 2000, cwd=tmp_path).exit_code == 0
    result = zoo("enjoy", "thompson_sampling", "BernoulliBandit-v0", "--episodes", 1, cwd=tmp_path)
    assert result.exit_code == 0 and "episode 1: return" in result.output
    stats = json.loads(zoo("evaluate", "thompson_sampling", "BernoulliBandit-v0", "--episodes", 1,
                           "--json", cwd=tmp_path).stdout)
    # The greedy arm is the best one of the seed-0 problem, paying ~0.95 of 5000 pulls.
    assert stats["mean_return"] > 0.9 * 5000


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "dqm", "CartPole-v1"], "Unknown algorithm 'dqm'"),
        (["train", "value_iteratoin", "CliffWalking4x12-v0"], "Did you mean: value_iteration"),
        (["train", "ucb", "BernouliBandit-v0"], "Did you mean: BernoulliBandit-v0"),
        (["train", "ucb", "BernoulliBandit-v0", "--hp", "coefficent=2"], "unknown hyperparameter 'coefficent'"),
        (["train", "ucb", "BernoulliBandit-v0", "--hp", "coefficient=big"], "'coefficient' must be float"),
        # YAML's flow mapping wants a space after the colon (Gymnasium said "unexpected keyword argument 'a:b'")
        (["train", "dqn", "CartPole-v1", "--hp", "env_kwargs={sutton_barto_reward:true}"],
         "'sutton_barto_reward:true' reads as one key without a value; YAML needs a space after the colon: "
         "{sutton_barto_reward: true}."),
        # Gymnasium's ClipAction makes Pendulum's bounds look infinite
        (["train", "sac", "Pendulum-v1", "--hp", "env_wrappers=[clip_action]"],
         "needs a bounded Box action space, got Box(-inf, inf, (1,), float32). If env_wrappers has clip_action, drop"),
        (["train", "qrdqn", "CartPole-v1"], "'qrdqn' is RL Zoo's QR-DQN, which zoo does not have. Available: "),
        # RL Zoo's spellings are read as zoo's (tests/test_rl_zoo_format.py); what has no equivalent is named
        (["train", "sac", "Pendulum-v1", "--hp", "normalize=true"],
         "--hp: normalize: this algorithm has no normalize_rewards in zoo (norm_reward asks for it)."),
        (["train", "dqn", "CartPole-v1", "--hp", "policy_kwargs=dict(net_arch=dict(pi=[64], qf=[32]))"],
         "zoo's actor and critic have one net_arch"),
        (["train", "ucb", "BernoulliBandit-v0", "--hp", "coefficient"], "--hp expects key=value"),
        (["train", "value_iteration", "CartPole-v1"], "value_iteration supports Discrete observations, CartPole-v1"),
        (["train", "value_iteration", "BernoulliBandit-v0"], "needs a known model"),
        (["train", "ucb", "CartPole-v1"], "needs a bandit env"),
        (["train", "ucb", "MountainCarContinuous-v0"], "ucb supports Discrete actions, MountainCarContinuous-v0 has"),
        (["train", "value_iteration", "CliffWalking4x12-v0", "--steps", "10"], "takes no step budget"),
        (["train", "ucb", "nosuchpackage:Env-v0"], "cannot import 'nosuchpackage'"),
        # a NaN env argument ran the env on it silently (Pendulum's physics in NaN)
        (["train", "sac", "Pendulum-v1", "--env-kwargs", "g:.nan"],
         "--env-kwargs: env_kwargs 'g' must be a finite number, got nan"),
        # RL Zoo's envs from other packages, not registered here: which package, and how to bring it
        (["train", "vision_dqn", "PongNoFrameskip-v4"], "Atari envs are registered by ale-py: "),
        (["train", "ppo", "MiniGrid-DoorKey-5x5-v0"], "(or name the env minigrid:MiniGrid-DoorKey-5x5-v0)"),
        (["evaluate", "ucb", "FrozenLake-v1"], "No trained ucb agent for FrozenLake-v1"),
        (["evaluate", "ucb", "BernoulliBandit-v0", "--path", "missing.zip"], "No checkpoint at missing.zip"),
    ],
)
def test_bad_input_gives_one_clear_error_and_exit_code_1(tmp_path, args, message):
    result = zoo(*args, cwd=tmp_path)
    assert result.exit_code == 1
    assert message in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.output + result.stderr
    assert "Training" not in result.output  # nothing announced that never started,
    assert not (tmp_path / "runs").exists()  # and no run folder left


def test_an_env_whose_package_is_missing_is_one_error(tmp_path):
    # Gymnasium registers its JAX envs whether or not jax is installed; making one imported it
    import importlib.util

    if importlib.util.find_spec("jax") is not None:
        pytest.skip("jax is installed here")
    result = zoo("train", "ppo", "phys2d/CartPole-v1", "--steps", 100, cwd=tmp_path)
    assert result.exit_code == 1 and "'phys2d/CartPole-v1' needs jax, which is not installed here" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


@pytest.mark.parametrize("args, message", [
    (["train"], "Missing argument 'algo'"),
    (["train", "dqn", "CartPole-v1", "--stepz", "3"], "No such option: --stepz"),
    # a path option followed by a flag: Click took the flag as the path and named the word left over
    (["enjoy", "dqn", "CartPole-v1", "--video", "--episodes", "1"], "got the flag '--episodes'"),
    (["train", "dqn", "CartPole-v1", "-f", "--seed", "1"], "got the flag '--seed'")])
def test_a_command_line_the_parser_cannot_read_exits_2(tmp_path, args, message):
    result = zoo(*args, cwd=tmp_path)
    said = " ".join(result.output.replace("│", " ").split())  # Rich's box wraps the message
    assert result.exit_code == 2 and message in said, said  # Click's usage error (README, Exit codes)
    assert not (tmp_path / "runs").exists()


def test_evaluating_a_checkpoint_of_another_env_is_refused(tmp_path):
    assert zoo("train", "value_iteration", "CliffWalking4x12-v0", cwd=tmp_path).exit_code == 0
    path = tmp_path / "runs" / "value_iteration" / "CliffWalking4x12-v0_1"
    result = zoo("evaluate", "value_iteration", "FrozenLake-v1", "--path", path, cwd=tmp_path)
    assert result.exit_code == 1 and "trained on 'CliffWalking4x12-v0', not 'FrozenLake-v1'" in result.stderr


def test_same_seed_same_config_same_numbers(tmp_path):
    for _ in range(2):
        assert zoo("train", "epsilon_greedy", "BernoulliBandit-v0", "--seed", 5, cwd=tmp_path).exit_code == 0
    runs = tmp_path / "runs" / "epsilon_greedy"
    first = (runs / "BernoulliBandit-v0_1" / "progress.csv").read_text()
    assert first == (runs / "BernoulliBandit-v0_2" / "progress.csv").read_text()
    assert zoo("train", "epsilon_greedy", "BernoulliBandit-v0", "--seed", 6, cwd=tmp_path).exit_code == 0
    assert first != (runs / "BernoulliBandit-v0_3" / "progress.csv").read_text()


def test_interrupt_during_training_stops_cleanly_and_keeps_what_was_learned(tmp_path, monkeypatch):
    from zoo.bandit import BanditSolver
    from zoo.train import train

    update = BanditSolver.update

    def update_then_ctrl_c(self, action, reward):
        metrics = update(self, action, reward)
        if self.total_pulls == 100:
            signal.raise_signal(signal.SIGINT)
        return metrics

    monkeypatch.setattr(BanditSolver, "update", update_then_ctrl_c)
    handler_before = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest runs in the background
    result = train("epsilon_greedy", "BernoulliBandit-v0", out_dir=tmp_path)
    assert result.interrupted
    assert load_agent(result.checkpoint).counts.sum() == 100
    assert len((result.run_dir / "progress.csv").read_text().splitlines()) == 101
    assert signal.getsignal(signal.SIGINT) is handler_before  # handler restored


@pytest.mark.skipif(shutil.which("zoo") is None, reason="the zoo console script is not installed")
@pytest.mark.slow  # ~5 s; deep-RL runs under SIGINT and SIGTERM are in the default suite (tests/test_hostile.py)
@pytest.mark.parametrize("signum", [signal.SIGINT], ids=["ctrl-c"])
def test_console_script_ctrl_c_saves_a_loadable_checkpoint(tmp_path, signum):
    # SIGTERM, and Ctrl-C to a whole process group, of deep-RL runs: tests/test_hostile.py
    process = subprocess.Popen(["zoo", "train", "epsilon_greedy", "BernoulliBandit-v0", "--steps", "3000000"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_dir = tmp_path / "runs" / "epsilon_greedy" / "BernoulliBandit-v0_1"
    deadline = time.time() + 60
    while not (run_dir / "config.yml").exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    # 128 + the signal's number, after the save, as shells and schedulers expect
    assert process.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[signum], err
    assert "Interrupted by" in err and "saved what was learned" in err and "Traceback" not in err
    pulls = load_agent(run_dir).counts.sum()
    assert 0 < pulls < 3_000_000


@pytest.mark.skipif(shutil.which("zoo") is None, reason="the zoo console script is not installed")
def test_console_script_errors_without_traceback(tmp_path):
    result = subprocess.run(["zoo", "train", "nope", "CartPole-v1"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "Unknown algorithm 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_help_and_list_do_not_import_torch():
    result = run_python(
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from zoo.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(app, ['list']).exit_code == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    assert result.returncode == 0, result.stderr


def test_python_dash_m_zoo_works():
    result = subprocess.run([sys.executable, "-m", "zoo", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "train" in result.stdout


@pytest.mark.slow  # ~10 s of pygame; .ci/run's main command opens a real window (dummy SDL) too
def test_enjoy_renders_a_human_window_for_envs_without_ansi(tmp_path, monkeypatch):
    # SDL's dummy video driver (set in conftest) gives pygame a window without a screen.
    monkeypatch.chdir(tmp_path)
    result = zoo("enjoy", "dqn", "CartPole-v1", "--render", "--episodes", 1)
    assert result.exit_code == 0, result.output
    assert "episode 1: return" in result.output


@pytest.mark.slow  # ~10 s each: a window opens (or a recording starts), then the signal
@pytest.mark.parametrize("showing", [["--render"], ["--video", "clip.mp4"]])
def test_sigterm_ends_enjoy_with_a_window_or_a_recording(tmp_path, showing):
    # pygame's SDL would take SIGTERM over and turn it into a quit event nobody reads: `kill`
    # left `zoo enjoy --render` playing on, and `--video` recording on, since its rgb_array
    # frames start SDL too (zoo.environments.make_env keeps SDL's handlers out)
    if showing[0] == "--video":
        pytest.importorskip("imageio_ffmpeg")
    process = subprocess.Popen([sys.executable, "-m", "zoo", "enjoy", "dqn", "CartPole-v1", *showing, "--episodes",
                                "2000"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert "Playing dqn on CartPole-v1" in process.stdout.readline()
    time.sleep(3)  # the window is open (the first render) or the frames flowing, the episodes under way
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    finally:
        process.kill()
        _, stderr = process.communicate()
    if showing[0] == "--render":
        assert process.returncode == -signal.SIGTERM
        return
    # a recording stops as after Ctrl-C, between two frames: its ffmpeg closed on whole frames
    # (a frame cut in two made it complain), and neither the video nor its temporary file left
    assert process.returncode == 143 and stderr.strip() == "Stopped by SIGTERM: clip.mp4 not written.", stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # ~4 s of CNN training; the vision agent's protocol is in the default run
def test_enjoy_shows_a_pixel_agent_the_frames_it_sees(tmp_path, monkeypatch):
    # The shipped vision agent observes the cliff's rgb_array render; --render shows those
    # frames in a window (not the ansi text the env would otherwise print).
    monkeypatch.chdir(tmp_path)
    result = zoo("enjoy", "vision_dqn", "CliffWalking4x12-v0", "--render", "--episodes", 1)
    assert result.exit_code == 0, result.output
    assert "episode 1: return -13.00" in result.output and "C  C" not in result.output


def test_a_process_zoo_spawns_for_itself_imports_torch_frozen_before_unpickling_its_call(tmp_path):
    # `zoo tune --workers N`'s workers: zoo.startup.call_in_own_process imports torch as a `zoo`
    # command does before it unpickles the call, whose module (zoo.threads here, zoo.tune.study
    # for the workers) would import torch unfrozen
    import pickle

    import zoo.threads

    call = pickle.dumps((zoo.threads.numpy_blas_threads, ()))
    result = run_python(
        "import gc, sys\n"
        "from zoo.startup import call_in_own_process\n"
        "assert 'torch' not in sys.modules\n"
        f"call_in_own_process(bytes.fromhex('{call.hex()}'))\n"
        "print(gc.get_freeze_count(), 'zoo.threads' in sys.modules)\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frozen, imported = result.stdout.split()
    assert int(frozen) > 50_000 and imported == "True"


def test_commands_that_need_torch_import_it_without_the_collector_and_freeze_it(tmp_path):
    # zoo/startup.py: a `zoo train` process imports torch with the collector off and moves its
    # objects out of the collector's reach (quicker start and exit); the collector is back on for
    # training, and a library user's own process is left alone
    result = run_python(
        "import gc, sys\n"
        "from typer.testing import CliRunner\n"
        "from zoo.cli import app\n"
        "assert gc.get_freeze_count() == 0 and 'torch' not in sys.modules\n"
        "outcome = CliRunner().invoke(app, ['train', 'dqn', 'CartPole-v1', '--steps', '50', '--hp',\n"
        "                                   'learning_starts=10', '--hp', 'eval_freq=0',\n"
        "                                   '--hp', 'stop_at_return=null'])\n"
        "assert outcome.exit_code == 0, outcome.output\n"
        "assert gc.isenabled()\n"
        "print(gc.get_freeze_count())\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 50_000  # what importing torch made (~250k here)
    # in this process torch is imported already: neither the library nor the CLI freezes anything
    import gc

    from zoo.startup import import_torch
    from zoo.train import train

    frozen = gc.get_freeze_count()
    train("dqn", "CartPole-v1", n_timesteps=50, out_dir=tmp_path / "library",
          overrides={"learning_starts": 10, "eval_freq": 0, "stop_at_return": None})
    import_torch()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_no_time_limit_is_refused_where_whole_episodes_are_played(tmp_path):
    """Gymnasium reads max_episode_steps -1 as "no TimeLimit": the shipped DQN keeps CartPole's
    pole up forever, so every command that plays whole episodes played on until Ctrl-C. Each
    now refuses it in one line naming where the -1 came from; what counts env steps keeps it."""
    def on_alarm(signum, frame):
        raise AssertionError("a command played an endless episode")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(120)  # before the fix these hung: fail instead
    try:
        def refused(*args, says: str, cwd: Path = tmp_path) -> None:
            result = zoo(*args, cwd=cwd)
            said = " ".join(result.output.split())
            assert result.exit_code == 1 and says in said and "Traceback" not in said, said

        no_limit = ["--env-kwargs", "max_episode_steps:-1"]
        gone = "max_episode_steps -1 takes away CartPole-v1's time limit (500 steps)"
        refused("evaluate", "dqn", "CartPole-v1", *no_limit,
                says=f"--env-kwargs: {gone}, and `zoo evaluate` plays whole episodes")
        refused("enjoy", "dqn", "CartPole-v1", *no_limit, says="(--env-kwargs max_episode_steps:2500), or play -n N")
        refused("upload", "dqn", "CartPole-v1", "--repo-id", "someone/dqn", "--out", tmp_path / "pkg", *no_limit,
                says="`zoo upload`'s evaluation plays whole episodes")
        assert not (tmp_path / "pkg").exists()
        played = zoo("enjoy", "dqn", "CartPole-v1", "-n", 600, *no_limit, cwd=tmp_path)  # env steps: it ends
        lengths = [int(length) for length in re.findall(r"length (\d+)", played.output)]
        assert played.exit_code == 0 and all(length > 500 for length in lengths), played.output  # no limit there

        train_args = ["train", "dqn", "CartPole-v1", "-n", 600, "--hp", "learning_starts=100"]
        refused(*train_args, "--eval-freq", 300, *no_limit,
                says=f"--env-kwargs: {gone}, and the evaluations (every 300 steps) play whole episodes")
        refused(*train_args, "--eval-freq", 300, "--eval-env-kwargs", "max_episode_steps:-1",
                says="--eval-env-kwargs: max_episode_steps -1")
        refused(*train_args, "--eval-freq", 300, "--hp", "env_kwargs={max_episode_steps: -1}",
                says="--hp env_kwargs: max_episode_steps -1")
        refused("train", "reinforce", "CartPole-v1", "-n", 600, "--eval-freq", 0, "--hp", "stop_at_return=null",
                *no_limit, says=f"--env-kwargs: {gone}, and each update (n_steps 0) collects whole episodes")
        assert not (tmp_path / "runs").exists()
        # training alone counts env steps; evaluations under a limit of their own play
        trained = zoo(*train_args, "--eval-freq", 300, *no_limit, "--eval-env-kwargs", "max_episode_steps:30",
                      cwd=tmp_path)
        assert trained.exit_code == 0, trained.output
        run = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
        assert yaml.safe_load((run / "config.yml").read_text())["env_kwargs"] == {"max_episode_steps": -1}
        # that agent's own env has no limit: the checkpoint is named, and a limit given plays
        refused("evaluate", "dqn", "CartPole-v1", "--path", run,
                says=f"{run / 'model.zip'}'s env_kwargs (its training env): {gone}")
        limited = zoo("evaluate", "dqn", "CartPole-v1", "--path", run, "--episodes", 1, "--json",
                      "--env-kwargs", "max_episode_steps:40", cwd=tmp_path)
        assert limited.exit_code == 0 and json.loads(limited.output)["lengths"][0] <= 40, limited.output
        refused("train", "dqn", "CartPole-v1", "--resume", run, "-n", 900, "--eval-freq", 300,
                says=f"{run / 'model.zip'}'s env_kwargs (the run's env): {gone}")
        refused("benchmark", "dqn", "CartPole-v1", "--no-sb3", "--seeds", 1, "--hp", "n_timesteps=300",
                "--hp", "env_kwargs={max_episode_steps: -1}", "--out", tmp_path / "bench",
                says="--hp env_kwargs: max_episode_steps -1 takes away CartPole-v1's time limit (500 steps), and the "
                     "final evaluations play whole episodes")
        if importlib.util.find_spec("optuna") is not None:
            refused("tune", "dqn", "CartPole-v1", "--trials", 1, "--out", tmp_path / "tune", *no_limit,
                    says="--env-kwargs: max_episode_steps -1 takes away CartPole-v1's time limit (500 steps), and a "
                         "trial's evaluations play whole episodes")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
