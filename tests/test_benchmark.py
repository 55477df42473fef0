"""`zoo benchmark`: tiny budgets only. Real benchmarks are run on purpose, never timed here."""

import json

import pytest
from typer.testing import CliRunner

import zoo.benchmark
from zoo.benchmark import run_benchmark, sb3_available
from zoo.cli import app

TINY = {"learning_starts": 100, "train_freq": 4, "net_arch": [16]}


def test_benchmark_command_prints_a_table_and_writes_json_and_markdown(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "dqn", "CartPole-v1", "--seeds", "2", "--steps", "400",
                                      "--episodes", "2", "--no-sb3", "--out", str(tmp_path),
                                      "--hp", "learning_starts=100", "--hp", "net_arch=[16]"])
    assert result.exit_code == 0, result.output
    assert "zoo seed 0: return" in result.output and "zoo seed 1: return" in result.output
    (json_path,) = (tmp_path / "benchmarks").glob("dqn_CartPole-v1_*.json")
    report = json.loads(json_path.read_text())
    assert report["n_timesteps"] == 400 and report["hyperparams"]["net_arch"] == [16]
    assert [r["seed"] for r in report["results"]] == [0, 1]
    assert all(r["library"] == "zoo" and r["steps"] == 400 and r["seconds"] > 0 for r in report["results"])
    assert report["summary"]["zoo"]["seeds"] == 2
    markdown = json_path.with_suffix(".md").read_text()
    assert "| zoo |" in markdown and "400 steps" in markdown


def test_benchmark_evaluates_each_seed_on_its_own_eval_seed(tmp_path):
    report = run_benchmark("dqn", "CartPole-v1", [3], n_timesteps=300, overrides=TINY, eval_episodes=3,
                           compare_sb3=False, out_dir=tmp_path)
    (row,) = report.results
    assert row.seed == 3 and row.steps == 300 and row.threads == 1 and row.episodes > 0


def test_benchmark_of_an_algo_without_a_budget_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "value_iteration", "CliffWalking4x12-v0", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "no training budget" in result.stderr


def test_insisting_on_sb3_without_it_installed_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo.benchmark, "sb3_available", lambda: False)
    result = CliRunner().invoke(app, ["benchmark", "dqn", "CartPole-v1", "--steps", "200", "--sb3",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 1 and "pip install 'zoo[benchmark]'" in result.stderr


@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_sb3_runs_side_by_side_on_the_same_hyperparameters(tmp_path):
    report = run_benchmark("double_dqn", "CartPole-v1", [0], n_timesteps=300, overrides=TINY, eval_episodes=2,
                           compare_sb3=True, out_dir=tmp_path)
    assert [r.library for r in report.results] == ["zoo", "sb3"]
    assert report.time_ratio() > 0
    assert any("no Double or Dueling DQN" in note for note in report.notes)


@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_sb3_a2c_runs_side_by_side_on_parallel_envs(tmp_path):
    report = run_benchmark("actor_critic", "CartPole-v1", [0], n_timesteps=400, eval_episodes=2,
                           overrides={"eval_freq": 0, "stop_at_return": None}, compare_sb3=True, out_dir=tmp_path)
    assert [r.library for r in report.results] == ["zoo", "sb3"]
    assert report.results[1].steps == 400 and any("RMSprop" in note for note in report.notes)
