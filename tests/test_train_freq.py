"""SB3's train_freq in episodes ([N, episode]) and gradient_steps: -1 (one update per env step
collected), as RL Zoo's entries write them, in the off-policy loop."""

from __future__ import annotations

import re

import pytest

from zoo.benchmark.sb3 import SB3_EQUIVALENTS, sb3_available
from zoo.build import load_agent
from zoo.config import resolve_hyperparams
from zoo.errors import ZooError
from zoo.registry import get_algo
from zoo.train import train

QUICK = {"eval_freq": 0, "stop_at_return": None}


def test_train_freq_in_episodes_with_one_update_per_step_collected(tmp_path):
    # Pendulum's episodes are 200 steps: training phases at steps 200, 400, ..., 1000; the first
    # ends the warm-up (learning_starts 200: none), each other runs 200 updates
    result = train("td3", "Pendulum-v1", seed=0, out_dir=tmp_path, overrides={
        **QUICK, "n_timesteps": 1000, "learning_starts": 200, "train_freq": [1, "episode"], "gradient_steps": -1})
    assert result.agent.config.train_freq == (1, "episode") and result.agent.config.train_every == (1, "episode")
    assert result.agent.n_updates == 800 and result.summary["updates"] == 800
    # two episodes per phase, 8 updates each: phases at 400 (in the warm-up) and 800
    two = train("ddpg", "Pendulum-v1", seed=0, out_dir=tmp_path, overrides={
        **QUICK, "n_timesteps": 1000, "learning_starts": 500, "train_freq": [2, "episode"], "gradient_steps": 8})
    assert two.agent.n_updates == 8
    # the config round-trips through the checkpoint (JSON's list back to the pair)
    assert load_agent(result.run_dir).config.train_freq == (1, "episode")


def test_gradient_steps_minus_one_with_train_freq_in_steps(tmp_path):
    result = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path, overrides={
        **QUICK, "n_timesteps": 1000, "learning_starts": 100, "train_freq": 50, "gradient_steps": -1})
    assert result.agent.config.train_every == (50, "step")
    assert result.summary["updates"] == 50 * 18  # phases at 150, 200, ..., 1000


@pytest.mark.parametrize("value, says", [([1, "epsiode"], "train_freq' must be int | tuple[int, 'step' | 'episode']"),
                                         ([0, "episode"], "train_freq must be at least 1"),
                                         ([1, "episode", 3], "train_freq' must be int"),
                                         (0, "train_freq must be at least 1")])
def test_bad_train_freqs_are_refused_naming_it(value, says):
    with pytest.raises(ZooError, match=re.escape(says)):
        resolve_hyperparams(get_algo("dqn"), "CartPole-v1", {"train_freq": value}, None)


def test_gradient_steps_below_minus_one_are_refused():
    with pytest.raises(ZooError, match="gradient_steps must be >= 0, or -1"):
        resolve_hyperparams(get_algo("sac"), "Pendulum-v1", {"gradient_steps": -2}, None)


@pytest.mark.parametrize("train_freq, ends", [([2, "episode"], [80, 160, 240]), (50, [50, 100, 150, 200, 250])])
def test_the_loop_tells_the_agent_where_each_collection_ends(tmp_path, monkeypatch, train_freq, ends):
    # gSDE SAC draws its exploration matrix again there (tests/test_continuous.py), as SB3 does at
    # each collect_rollouts; episodes of 40 steps here
    from zoo.agents.sac import SACAgent

    seen: list[int] = []
    monkeypatch.setattr(SACAgent, "on_collection_end", lambda agent: seen.append(agent.clock.step))
    result = train("sac", "Pendulum-v1", seed=0, out_dir=tmp_path, overrides={
        **QUICK, "n_timesteps": 250, "learning_starts": 100, "train_freq": train_freq, "gradient_steps": 1,
        "use_sde": True, "env_kwargs": {"max_episode_steps": 40}})
    assert seen == ends and result.summary["updates"] == sum(end > 100 for end in ends)


@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_sb3_gets_the_same_train_freq():
    import gymnasium as gym

    config = resolve_hyperparams(get_algo("td3"), "Pendulum-v1", {"train_freq": [1, "episode"],
                                                                  "gradient_steps": -1}, None).config
    _, kwargs, _ = SB3_EQUIVALENTS["ddpg"](config, gym.make("Pendulum-v1").action_space)
    assert kwargs["train_freq"] == (1, "episode") and kwargs["gradient_steps"] == -1
