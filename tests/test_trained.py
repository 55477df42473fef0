"""Every shipped agent loads and still earns its recorded result."""

import json

import pytest
from typer.testing import CliRunner

from zoo.build import env_of, load_agent
from zoo.cli import app
from zoo.evaluation import evaluate_agent
from zoo.paths import trained_dir
from zoo.registry import ALGOS

SHIPPED = sorted(trained_dir().glob("*/*/result.json"))


def test_every_algorithm_has_a_shipped_agent():
    assert {path.parent.parent.name for path in SHIPPED} == set(ALGOS)


@pytest.mark.parametrize("result_path", SHIPPED, ids=lambda p: f"{p.parent.parent.name}-{p.parent.name}")
def test_shipped_agent_reaches_its_recorded_result(result_path):
    recorded = json.loads(result_path.read_text())
    evaluation = recorded["evaluation"]
    agent = load_agent(result_path.parent / "model.zip", algo=recorded["algo"], env_id=recorded["env_id"])
    env = env_of(agent).make()
    result = evaluate_agent(agent, env, evaluation["episodes"], deterministic=evaluation["deterministic"],
                            seed=evaluation["seed"])
    assert result.mean == pytest.approx(evaluation["mean_return"], abs=1.0 + 0.02 * abs(evaluation["mean_return"]))
    assert recorded["command"].startswith(f"zoo train {recorded['algo']} {recorded['env_id']}")


def test_enjoy_works_with_no_local_run_thanks_to_trained(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["enjoy", "value_iteration", "CliffWalking4x12-v0", "--episodes", 1])
    assert result.exit_code == 0, result.output
    assert "trained" in result.output and "return -13.00" in result.output
