"""Checkpoints written by zoo 0.1.0 (tests/fixtures/zoo-0.1.0: every agent shipped in trained/
by that release, before aliases, contracts and env descriptions) load and play identically.

expected.json was recorded by zoo 0.1.0 itself: the returns of 3 deterministic episodes from
seed 123, and the deterministic actions on 5 observations sampled from seed 7.
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
    assert result.returns == expected["returns"]
    assert result.lengths == expected["lengths"]
    env.reset(seed=7)
    env.observation_space.seed(7)
    actions = [np.asarray(agent.take_action(env.observation_space.sample(), deterministic=True)).tolist()
               for _ in range(5)]
    assert actions == expected["actions"]
    env.close()


def test_every_0_1_0_algorithm_is_covered():
    assert {name.split("/")[0] for name in EXPECTED} == {
        "epsilon_greedy", "decaying_epsilon_greedy", "ucb", "thompson_sampling", "policy_iteration",
        "value_iteration", "dqn", "double_dqn", "dueling_dqn", "vision_dqn", "ddpg", "sac", "reinforce",
        "actor_critic"}
