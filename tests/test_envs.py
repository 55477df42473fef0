import warnings

import gymnasium as gym
import numpy as np
import pytest
from conftest import run_python
from gymnasium.utils.env_checker import check_env

import envs

gym.register_envs(envs)


# CliffWalking's human mode opens pygame (~6 s): in the slow tier, to keep the default run under 3 minutes
@pytest.mark.parametrize("env_id", [pytest.param(env_id, marks=pytest.mark.slow) if env_id.startswith("CliffWalking")
                                    else env_id for env_id in envs.ENV_IDS])
def test_check_env_passes_without_warnings_in_every_render_mode(env_id):
    modes = [None, *gym.make(env_id).unwrapped.metadata["render_modes"]]
    for mode in modes:
        env = gym.make(env_id, render_mode=mode)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env.unwrapped, skip_render_check=False)
        env.close()


def rollout(env_id, seed, action_seed=None):
    env = gym.make(env_id)
    env.action_space.seed(seed if action_seed is None else action_seed)
    observation, _ = env.reset(seed=seed)
    trace = [observation]
    for _ in range(300):
        observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((observation, reward, terminated, truncated, sorted(info.items())))
        if terminated or truncated:
            trace.append(env.reset()[0])
    return trace


def test_bandit_rewards_follow_the_seed():
    # The same actions: the same seed gives the same rewards (and arms), another seed others.
    assert rollout("BernoulliBandit-v0", 3) == rollout("BernoulliBandit-v0", 3)
    assert rollout("BernoulliBandit-v0", 3) != rollout("BernoulliBandit-v0", 4, action_seed=3)


def test_the_cliff_is_deterministic_whatever_the_seed():
    # Its only randomness would be the start: always state 36 (bottom left), so the same
    # actions give the same trajectory under any seed, as in Sutton & Barto.
    assert rollout("CliffWalking4x12-v0", 3)[0] == 36
    assert rollout("CliffWalking4x12-v0", 3) == rollout("CliffWalking4x12-v0", 4, action_seed=3)


@pytest.mark.parametrize("env_id", envs.ENV_IDS)
@pytest.mark.parametrize("bad_action", [-1, 99, 1.5, "left", None])
def test_invalid_action_is_rejected_with_a_clear_error(env_id, bad_action):
    env = gym.make(env_id)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action"):
        env.step(bad_action)


def test_registration_works_from_a_fresh_interpreter():
    result = run_python(
        "import gymnasium as gym\n"
        "import envs\n"
        "gym.register_envs(envs)\n"
        "gym.make('CliffWalking4x12-v0'); gym.make('BernoulliBandit-v0')\n"
        "import sys; assert 'zoo' not in sys.modules\n"
    )
    assert result.returncode == 0, result.stderr


def test_module_prefixed_id_works_with_no_prior_import():
    result = run_python(
        "import gymnasium as gym\n"
        "env = gym.make('envs:CliffWalking4x12-v0')\n"
        "assert env.reset(seed=0)[0] == 36\n"
        "gym.make('envs:BernoulliBandit-v0')\n"
    )
    assert result.returncode == 0, result.stderr


# ---- BernoulliBandit-v0 ------------------------------------------------------------


def test_bandit_probabilities_come_from_the_seed():
    first = gym.make("BernoulliBandit-v0").unwrapped
    second = gym.make("BernoulliBandit-v0").unwrapped
    first.reset(seed=7)
    second.reset(seed=7)
    np.testing.assert_array_equal(first.probs, second.probs)
    assert first.probs.shape == (10,)
    probs = first.probs.copy()
    first.reset()  # no seed: the same bandit, so a learner can play several episodes of it
    np.testing.assert_array_equal(first.probs, probs)
    first.reset(seed=8)
    assert not np.array_equal(first.probs, probs)


def test_bandit_given_probabilities_pay_at_their_rate_and_info_allows_regret():
    env = gym.make("BernoulliBandit-v0", probs=[0.1, 0.9, 0.5])
    assert env.action_space == gym.spaces.Discrete(3)
    _, info = env.reset(seed=0)
    assert info["best_prob"] == 0.9
    rewards = []
    for _ in range(2000):
        _, reward, terminated, truncated, info = env.step(2)
        rewards.append(reward)
        assert not terminated and not truncated
        assert info == {"prob": 0.5, "best_prob": 0.9}
    assert set(rewards) == {0.0, 1.0}
    assert abs(np.mean(rewards) - 0.5) < 0.05


def test_bandit_truncates_after_max_steps():
    env = gym.make("BernoulliBandit-v0", max_steps=5)
    env.reset(seed=0)
    flags = [env.step(0)[3] for _ in range(5)]
    assert flags == [False, False, False, False, True]


def test_bandit_rejects_bad_construction():
    with pytest.raises(ValueError, match="probs"):
        gym.make("BernoulliBandit-v0", probs=[0.5, 1.5])
    with pytest.raises(ValueError, match="n_arms"):
        gym.make("BernoulliBandit-v0", n_arms=0)


def test_bandit_ansi_render_shows_arms_and_last_pull():
    env = gym.make("BernoulliBandit-v0", probs=[0.2, 0.8], render_mode="ansi")
    env.reset(seed=0)
    env.step(1)
    text = env.render()
    assert "arm  1  p=0.800" in text and "best" in text and "last pull: arm 1" in text


# ---- CliffWalking4x12-v0 -------------------------------------------------------------


def test_cliff_walking_layout_and_model():
    env = gym.make("CliffWalking4x12-v0")
    unwrapped = env.unwrapped
    assert env.observation_space == gym.spaces.Discrete(48)
    assert env.action_space == gym.spaces.Discrete(4)
    assert env.spec.max_episode_steps == 200
    up, right, down, left = 0, 1, 2, 3
    P = unwrapped.P
    assert set(P) == set(range(48)) and all(set(P[s]) == {0, 1, 2, 3} for s in P)
    assert P[36][right] == [(1.0, 37, -100.0, True)]  # start -> cliff: -100 and the end
    assert P[36][up] == [(1.0, 24, -1.0, False)]
    assert P[36][left] == [(1.0, 36, -1.0, False)]  # walls keep the agent in place
    assert P[0][up] == [(1.0, 0, -1.0, False)]
    assert P[35][down] == [(1.0, 47, -1.0, True)]  # into the goal
    assert P[30][down] == [(1.0, 42, -100.0, True)]
    assert P[47][left] == [(1.0, 47, 0.0, True)]  # goal and cliff are absorbing
    assert unwrapped.P is P  # built once


def test_cliff_walking_steps_follow_the_model():
    env = gym.make("CliffWalking4x12-v0")
    state, info = env.reset(seed=0)
    assert (state, info) == (36, {"prob": 1.0})
    assert env.step(0) == (24, -1.0, False, False, {"prob": 1.0})
    total = -1.0
    for _ in range(11):
        state, reward, terminated, _, _ = env.step(1)
        total += reward
    state, reward, terminated, _, _ = env.step(2)
    assert (state, total + reward, terminated) == (47, -13.0, True)
    env.reset()
    assert env.step(1) == (37, -100.0, True, False, {"prob": 1.0})


def test_cliff_walking_agrees_with_gymnasium_except_at_the_cliff():
    ours = gym.make("CliffWalking4x12-v0").unwrapped
    theirs = gym.make("CliffWalking-v1").unwrapped
    for state in range(48):
        if ours._is_terminal(state):
            continue
        for action in range(4):
            (p, s, r, t), = ours.P[state][action]
            (tp, ts, tr, tt), = theirs.P[state][action]
            if r == -100:  # Gymnasium teleports to the start and goes on; we end the episode
                assert (tr, ts, tt, t) == (-100, 36, False, True)
            else:
                assert (p, s, r, t) == (tp, ts, tr, tt)


def test_cliff_walking_renders_like_gymnasium():
    ours = gym.make("CliffWalking4x12-v0", render_mode="ansi")
    theirs = gym.make("CliffWalking-v1", render_mode="ansi")
    ours.reset(seed=0)
    theirs.reset(seed=0)
    assert ours.render() == theirs.render()
    ours.step(0)
    theirs.step(0)
    assert ours.render() == theirs.render()


def test_cliff_walking_rgb_array_draws_the_agent_where_it_is():
    env = gym.make("CliffWalking4x12-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (128, 384, 3) and frame.dtype == np.uint8
    env.step(0)
    moved = env.render()
    changed_rows = np.flatnonzero(np.any(frame != moved, axis=(1, 2)))
    assert changed_rows.min() >= 64 and changed_rows.max() < 128  # rows 2 and 3 of the grid


def test_cliff_walking_time_limit_truncates_a_wandering_policy():
    env = gym.make("CliffWalking4x12-v0")
    env.reset(seed=0)
    steps = 0
    while True:
        _, _, terminated, truncated, _ = env.step(0)
        steps += 1
        if terminated or truncated:
            break
    assert (steps, truncated) == (200, True)
