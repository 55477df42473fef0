import gymnasium as gym
import numpy as np
import pytest

import envs
from zoo.evaluation import evaluate_agent
from zoo.grid import policy_grid
from zoo.planning import TabularModel, greedy_policy, policy_iteration, value_iteration
from zoo.train import train

gym.register_envs(envs)


def model(env_id, **kwargs):
    env = gym.make(env_id, **kwargs)
    return env, TabularModel.from_table(env.unwrapped.P, env.observation_space.n, env.action_space.n)


def greedy_rollout_return(env, policy):
    state, _ = env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        state, reward, terminated, truncated, _ = env.step(int(policy[state]))
        total += reward
        done = terminated or truncated
    return total


@pytest.mark.parametrize("env_id", ["CliffWalking4x12-v0", "CliffWalking-v1"])
def test_both_solvers_find_the_optimal_cliff_path_and_agree(env_id):
    env, cliff = model(env_id)
    v_values, v_policy, _ = value_iteration(cliff, gamma=0.9, theta=1e-8)
    p_values, p_policy, _ = policy_iteration(cliff, gamma=0.9, theta=1e-8)
    assert greedy_rollout_return(env, v_policy) == -13
    assert greedy_rollout_return(env, p_policy) == -13
    np.testing.assert_allclose(v_values, p_values, atol=1e-6)
    # Each policy is greedy under the other's values (ties may be broken differently).
    for values, policy in ((v_values, p_policy), (p_values, v_policy)):
        q = cliff.q_values(values, 0.9)
        assert np.all(q[np.arange(48), policy] >= q.max(axis=1) - 1e-6)


def test_values_satisfy_the_bellman_optimality_equation_by_hand():
    # The start state is 13 steps from the goal along the cliff edge:
    # V = -(1 + 0.9 + ... + 0.9^12).
    _, cliff = model("CliffWalking4x12-v0")
    values, _, _ = value_iteration(cliff, gamma=0.9, theta=1e-10)
    assert values[36] == pytest.approx(-sum(0.9**k for k in range(13)), abs=1e-8)
    assert values[47] == 0 and values[40] == 0  # goal and cliff are terminal
    np.testing.assert_allclose(values, cliff.q_values(values, 0.9).max(axis=1), atol=1e-8)


@pytest.mark.parametrize("algo", ["value_iteration", "policy_iteration"])
def test_frozen_lake_greedy_policy_succeeds_at_least_70_percent(algo, runs_dir):
    result = train(algo, "FrozenLake-v1", out_dir=runs_dir)
    assert result.env.unwrapped.spec.kwargs["is_slippery"] is True
    evaluation = evaluate_agent(result.agent, result.env, 1000, seed=0)
    assert evaluation.mean >= 0.70


def test_greedy_policy_keeps_the_current_action_among_ties():
    q = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0 - 1e-12]])
    np.testing.assert_array_equal(greedy_policy(q), [0, 1])
    np.testing.assert_array_equal(greedy_policy(q, current=np.array([1, 2])), [1, 2])


def test_policy_grid_draws_arrows_in_each_envs_action_order(runs_dir):
    result = train("value_iteration", "CliffWalking4x12-v0", out_dir=runs_dir)
    grid = policy_grid(result.env, result.agent.policy).splitlines()
    assert grid[3] == "↑ C C C C C C C C C C G"
    assert grid[2].endswith("→ ↓")
    lake = train("value_iteration", "FrozenLake-v1", out_dir=runs_dir)
    rows = policy_grid(lake.env, lake.agent.policy).splitlines()
    assert rows[0][0] == "←"  # FrozenLake's action 0 is LEFT: hug the wall away from the hole
    assert rows[3].endswith("G") and "H" in rows[1]
