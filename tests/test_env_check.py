"""`zoo check ENV`: Gymnasium's contract played out, and the algorithms an env suits."""

from __future__ import annotations

import broken_envs  # noqa: F401  (registers test/<Name>-v0)
import pytest
from typer.testing import CliRunner

from zoo.cli import app
from zoo.env_check import check_env


def check(*args):
    return CliRunner().invoke(app, ["check", *map(str, args)])


def test_an_env_keeping_the_contract_lists_the_algorithms_that_take_it():
    report = check_env("CartPole-v1", steps=300)
    assert report.passed and report.steps == 300 and report.episodes > 5
    assert {"dqn", "ppo", "sac", "actor_critic"} <= set(report.algos)
    # beyond the spaces, what train checks: the planners need the env's table, the bandit
    # solvers regret in the reset's info
    assert "ucb" not in report.algos and "best_prob" in report.refused_algos["ucb"]
    assert "ddpg supports Box actions" in report.refused_algos["ddpg"]
    assert "value_iteration supports Discrete observations" in report.refused_algos["value_iteration"]
    assert "value_iteration" in check_env("CliffWalking4x12-v0", steps=50).algos
    bandit = check_env("BernoulliBandit-v0", steps=50)
    assert "ucb" in bandit.algos and "value_iteration" not in bandit.algos  # its spaces, but no table P
    assert "P" in bandit.refused_algos["value_iteration"]
    result = check("CartPole-v1", "--steps", 200)
    assert result.exit_code == 0 and "CartPole-v1 keeps Gymnasium's contract." in result.output, result.output
    assert "played 200 random steps" in result.output


@pytest.mark.parametrize("name, problem", [
    ("OldGymApi", "reset returned ndarray, not (observation, info): the old Gym API"),
    ("OldGymStep", "step 1 returned 4 values, not five (observation, reward, terminated, truncated, info)"),
    ("ObservationsOfAnotherShape", "reset returned an observation of shape (4,), but its observation_space is "
                                   "Box(-1.0, 1.0, (3,), float32)"),
    ("AnotherShapeAfterTheReset", "step 1 returned an observation of shape (4,), but its observation_space is "
                                  "Box(-1.0, 1.0, (3,), float32)"),
    ("NaNAfterTheFirstStep", "step 1 returned an observation holding NaN or inf"),
    ("NaNReward", "step 7 returned the reward nan: the updates would turn NaN"),
])
def test_an_env_breaking_the_contract_is_named_and_exits_1(name, problem):
    env_id = f"test/{name}-v0"
    assert check_env(env_id, steps=100).problems[-1] == problem  # after what Gymnasium's checker said
    result = check(env_id, "--steps", 100)
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and f"problem: {problem}" in said, result.output
    assert f"error: {env_id} breaks Gymnasium's contract" in said and "Traceback" not in said


def test_check_takes_env_arguments_and_refuses_bad_ones():
    cut = check_env("CartPole-v1", {"max_episode_steps": 5}, steps=50)
    assert cut.passed and cut.episodes == 10  # every episode cut at 5 steps
    for args, says in ((["--env-kwargs", "gg:1"], "--env-kwargs: CartPole-v1 takes no argument 'gg'"),
                       (["--steps", 0], "--steps must be from 1 to 1000000, got 0"),
                       ([], "Unknown environment 'CartPole-v9'")):
        env_id = "CartPole-v9" if not args else "CartPole-v1"
        result = check(env_id, *args)
        assert result.exit_code == 1 and says in " ".join(result.output.split()), result.output
