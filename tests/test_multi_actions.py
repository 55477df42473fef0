"""MultiDiscrete and MultiBinary actions for the on-policy agents (SB3's MultiCategorical):
the log-probabilities against torch's distributions, numpy's samples, the env's dtypes, and
learning, end to end through the CLI."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from multi_action_envs import GuessTheCode
from typer.testing import CliRunner

from zoo.build import load_agent
from zoo.cli import app
from zoo.errors import ZooError
from zoo.policies import PolicyNetwork
from zoo.train import train

OBSERVATIONS = gym.spaces.Box(-1.0, 1.0, (5,), np.float32)


def policy(action_space, **kwargs):
    torch.manual_seed(0)
    return PolicyNetwork(OBSERVATIONS, action_space, [16], "tanh", **kwargs)


@pytest.mark.parametrize("action_space", [gym.spaces.MultiDiscrete([3, 4, 2]), gym.spaces.MultiBinary(3),
                                          gym.spaces.MultiDiscrete([[2, 3], [4, 2]])])
def test_log_probs_and_entropy_are_the_sums_of_one_categorical_per_dimension(action_space):
    network = policy(action_space)
    observations = torch.randn(64, 5)
    choices = network.choices
    actions, sampled_log_probs = network.sample_with_log_probs(observations.numpy(), np.random.default_rng(0))
    assert actions.shape == (64, len(choices)) and actions.dtype == np.int64
    assert all((actions[:, d] < n).all() and (actions[:, d] >= 0).all() for d, n in enumerate(choices))
    log_probs, entropy = network.log_prob_and_entropy(observations, torch.as_tensor(actions, dtype=torch.float32))
    # the same from torch.distributions, dimension by dimension
    logits = network.head(network.torso(observations)).split(choices, dim=-1)
    dimensions = [torch.distributions.Categorical(logits=part) for part in logits]
    expected_log_probs = sum(d.log_prob(torch.as_tensor(actions[:, i])) for i, d in enumerate(dimensions))
    expected_entropy = sum(d.entropy() for d in dimensions)
    torch.testing.assert_close(log_probs, expected_log_probs, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(entropy, expected_entropy, rtol=1e-5, atol=1e-6)
    # numpy's sample is scored as torch scores it
    np.testing.assert_allclose(sampled_log_probs, expected_log_probs.detach().numpy(), rtol=1e-5, atol=1e-6)
    # the torch path (a GPU's) samples valid actions and scores them the same way
    torch_actions, torch_log_probs = network.sample_with_log_probs_torch(observations)
    again, _ = network.log_prob_and_entropy(observations, torch_actions.float())
    torch.testing.assert_close(torch_log_probs, again, rtol=1e-5, atol=1e-6)
    # what the env receives: its own dtype and shape, each dimension's most likely choice when greedy
    env_actions = network.to_env(actions)
    assert env_actions.dtype == action_space.dtype and env_actions.shape == (64, *action_space.shape)
    assert all(action_space.contains(action) for action in env_actions)
    greedy = network.deterministic_batch(observations.numpy())
    modes = np.stack([part.argmax(-1).numpy() for part in logits], -1).reshape(64, *action_space.shape)
    np.testing.assert_array_equal(greedy, modes)
    np.testing.assert_array_equal(network.deterministic(observations[0].numpy()), modes[0])
    assert action_space.contains(network.act(observations[0].numpy()))


def test_sampling_follows_the_probabilities():
    network = policy(gym.spaces.MultiDiscrete([3, 2]))
    observation = np.zeros((20_000, 5), dtype=np.float32)
    actions, _ = network.sample_with_log_probs(observation, np.random.default_rng(1))
    logits = network.head(network.torso(torch.zeros(1, 5))).split([3, 2], dim=-1)
    for dimension, part in enumerate(logits):
        expected = torch.softmax(part, -1)[0].detach().numpy()
        counted = np.bincount(actions[:, dimension], minlength=len(expected)) / len(actions)
        np.testing.assert_allclose(counted, expected, atol=0.015)


def test_refusals():
    with pytest.raises(ZooError, match="use_sde.*is for Box actions.*MultiDiscrete"):
        policy(gym.spaces.MultiDiscrete([3, 2]), use_sde=True)
    with pytest.raises(ZooError, match="start other than 0"):
        policy(gym.spaces.MultiDiscrete([3, 2], start=[1, 0]))


@pytest.mark.parametrize("algo, steps, at_least", [("ppo", 4000, 14.0), ("actor_critic", 4000, 14.0),
                                                   ("reinforce", 6000, 9.0)])
def test_on_policy_agents_learn_a_multidiscrete_code(algo, steps, at_least, tmp_path):
    # a uniform policy earns 4.67 an episode, reading the code 16
    result = train(algo, "multi_action_envs:MultiGuess-v0", seed=1, out_dir=tmp_path,
                   overrides={"n_timesteps": steps, "eval_freq": 0, "stop_at_return": None})
    from zoo.evaluation import evaluate_agent

    env = gym.make("MultiGuess-v0")
    evaluation = evaluate_agent(result.agent, env, 20, deterministic=True, seed=100)
    assert evaluation.mean >= at_least, evaluation.returns
    # the checkpoint plays the same
    reloaded = load_agent(result.run_dir)
    observation = GuessTheCode()._observation()
    np.testing.assert_array_equal(reloaded.take_action(observation, deterministic=True),
                                  result.agent.take_action(observation, deterministic=True))


def test_multibinary_end_to_end_through_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "ppo", "multi_action_envs:BinaryGuess-v0", "--steps", 4000, "--seed", 1,
                                  "--eval-freq", 0])
    assert trained.exit_code == 0, trained.output
    evaluated = runner.invoke(app, ["evaluate", "ppo", "multi_action_envs:BinaryGuess-v0", "--episodes", 10,
                                    "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["mean_return"] >= 21  # of 24; a uniform policy earns 12
    refused = runner.invoke(app, ["train", "dqn", "multi_action_envs:BinaryGuess-v0"])
    assert refused.exit_code == 1 and "dqn supports Discrete actions" in refused.output
