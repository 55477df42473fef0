"""Checkpoints written by zoo 0.1.0 (tests/fixtures/zoo-0.1.0: every agent shipped in trained/
by that release, before aliases, contracts and env descriptions) load and play identically.

expected.json was recorded by zoo 0.1.0 itself: the returns of 3 deterministic episodes from
seed 123, and the deterministic actions on 5 observations sampled from seed 7. Episode lengths
and discrete actions must match exactly; returns and continuous actions to float32 precision,
since a float32 product's last bits depend on the order its BLAS kernel sums in, and numpy's
OpenBLAS picks its kernel by CPU and release: on 2026-11-26 (numpy's scipy-openblas 0.3.31 on
an AMD EPYC) DDPG's and SAC's actions moved by 4e-7 and 7e-7 and their returns by 1e-8 relative.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from zoo.build import env_of, load_agent
from zoo.evaluation import evaluate_agent

FIXTURES = Path(__file__).parent / "fixtures" / "zoo-0.1.0"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_0_1_0_checkpoint_loads_and_plays_as_it_did(name):
    expected = EXPECTED[name]
    agent = load_agent(FIXTURES / name / "model.zip")
    assert agent.algo == name.split("/")[0]  # aliases (double_dqn, policy_iteration...) keep their names
    env = env_of(agent).make()
    result = evaluate_agent(agent, env, 3, seed=123)
    assert result.returns == pytest.approx(expected["returns"], rel=1e-6)
    assert result.lengths == expected["lengths"]
    env.reset(seed=7)
    env.observation_space.seed(7)
    actions = [np.asarray(agent.take_action(env.observation_space.sample(), deterministic=True)).tolist()
               for _ in range(5)]
    if isinstance(expected["actions"][0], int):
        assert actions == expected["actions"]
    else:
        np.testing.assert_allclose(actions, expected["actions"], rtol=1e-5, atol=1e-6)
    env.close()


def test_every_0_1_0_algorithm_is_covered():
    assert {name.split("/")[0] for name in EXPECTED} == {
        "epsilon_greedy", "decaying_epsilon_greedy", "ucb", "thompson_sampling", "policy_iteration",
        "value_iteration", "dqn", "double_dqn", "dueling_dqn", "vision_dqn", "ddpg", "sac", "reinforce",
        "actor_critic"}
