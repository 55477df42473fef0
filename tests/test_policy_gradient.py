"""REINFORCE and Actor-Critic: returns and advantages by hand, vector envs, learning."""

import signal

import gymnasium as gym
import numpy as np
import pytest
import torch

from helpers import quiet_monitor
from zoo.advantages import discounted_returns, gae
from zoo.agents.actor_critic import ActorCriticAgent, ActorCriticConfig
from zoo.agents.reinforce import ReinforceAgent
from zoo.build import load_agent
from zoo.evaluation import evaluate_agent
from zoo.train import train


def test_discounted_returns_by_hand_restart_at_every_episode_end():
    rewards = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    ends = np.array([[0.0], [0.0], [1.0], [0.0], [1.0]])  # episodes: r0..r2 and r3..r4
    returns = discounted_returns(rewards, ends, gamma=0.5)
    np.testing.assert_allclose(returns[:, 0], [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3, 4 + 0.5 * 5, 5])


def test_gae_by_hand_td0_and_nstep_with_termination_and_truncation():
    gamma = 0.9
    # One env, 3 steps: step 0 goes on, step 1 is truncated (cut at an observation worth 10),
    # step 2 terminates.
    rewards = np.array([[1.0], [1.0], [1.0]])
    values = np.array([[2.0], [3.0], [4.0]])
    next_values = np.array([[3.0], [10.0], [99.0]])  # 99 must be ignored: terminal
    terminated = np.array([[0.0], [0.0], [1.0]])
    truncated = np.array([[0.0], [1.0], [0.0]])
    deltas = [1 + 0.9 * 3 - 2, 1 + 0.9 * 10 - 3, 1 - 4]

    td0, targets = gae(rewards, values, next_values, terminated, truncated, gamma, gae_lambda=0.0)
    np.testing.assert_allclose(td0[:, 0], deltas)
    np.testing.assert_allclose(targets[:, 0], np.array(deltas) + values[:, 0])

    nstep, targets = gae(rewards, values, next_values, terminated, truncated, gamma, gae_lambda=1.0)
    # Step 0's return runs into step 1 (same episode), which bootstraps from the cut obs;
    # step 1 does not run into step 2, a new episode.
    np.testing.assert_allclose(nstep[:, 0], [deltas[0] + 0.9 * deltas[1], deltas[1], deltas[2]])
    np.testing.assert_allclose(targets[:, 0], [1 + 0.9 * (1 + 0.9 * 10), 1 + 0.9 * 10, 1])

    half, _ = gae(rewards, values, next_values, terminated, truncated, gamma, gae_lambda=0.5)
    np.testing.assert_allclose(half[0, 0], deltas[0] + 0.9 * 0.5 * deltas[1])


def test_gae_treats_parallel_envs_independently():
    rewards = np.ones((2, 2))
    values = np.zeros((2, 2))
    next_values = np.array([[1.0, 1.0], [1.0, 1.0]])
    terminated = np.array([[0.0, 1.0], [0.0, 0.0]])
    truncated = np.zeros((2, 2))
    advantages, _ = gae(rewards, values, next_values, terminated, truncated, 0.5, 1.0)
    np.testing.assert_allclose(advantages[:, 0], [1.5 + 0.5 * 1.5, 1.5])
    np.testing.assert_allclose(advantages[:, 1], [1.0, 1.5])


def test_rollouts_keep_the_last_observation_of_an_episode_not_the_reset_one():
    from zoo.environments import make_vector_env
    from zoo.loops.on_policy import RolloutCollector

    agent = ActorCriticAgent(gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), gym.spaces.Discrete(2),
                             ActorCriticConfig(eval_freq=0), env_id="CartPole-v1", seed=0)
    envs = make_vector_env("CartPole-v1", 3)
    rollout = RolloutCollector(agent, envs, quiet_monitor(agent), seed=0).collect(200)
    ended = np.argwhere(rollout.terminated == 1)
    assert len(ended) > 0
    for t, i in ended:
        final = rollout.next_observations[t, i]
        assert abs(final[0]) > 2.4 or abs(final[2]) > 0.2095  # the pole fell or the cart left
        if t + 1 < len(rollout.observations):
            reset = rollout.observations[t + 1, i]
            assert np.all(np.abs(reset) <= 0.05)  # the next episode starts near upright
    np.testing.assert_array_equal(rollout.observations[1:][rollout.terminated[:-1] == 0],
                                  rollout.next_observations[:-1][rollout.terminated[:-1] == 0])


def test_gaussian_policy_respects_bounds_and_scores_the_unclipped_sample():
    agent = ActorCriticAgent(gym.spaces.Box(-1, 1, (3,), np.float32), gym.spaces.Box(-2.0, 2.0, (1,), np.float32),
                             ActorCriticConfig(log_std_init=1.5), seed=0)
    observations = np.random.default_rng(0).normal(size=(500, 3)).astype(np.float32)
    samples = agent.policy.sample(observations)
    assert np.abs(samples).max() > 2.0  # wide Gaussian: some samples fall outside
    sent = agent.policy.to_env(samples)
    assert sent.shape == (500, 1) and np.all(np.abs(sent) <= 2.0)
    log_prob, _ = agent.policy.log_prob_and_entropy(torch.from_numpy(observations), torch.from_numpy(samples))
    mean = agent.policy.head(agent.policy.torso(torch.from_numpy(observations)))
    expected = torch.distributions.Normal(mean, agent.policy.log_std.exp()).log_prob(torch.from_numpy(samples)).sum(-1)
    torch.testing.assert_close(log_prob, expected)
    assert all(-2.0 <= agent.take_action(o)[0] <= 2.0 for o in observations[:50])


FAST = {"eval_freq": 5000, "n_eval_episodes": 5}


@pytest.mark.slow
def test_reinforce_learns_cartpole_within_seconds(tmp_path):
    result = train("reinforce", "CartPole-v1", seed=0, out_dir=tmp_path,
                   overrides={**FAST, "n_timesteps": 80_000, "stop_at_return": 250})
    evaluation = evaluate_agent(result.agent, result.env, 10, seed=123)
    assert evaluation.mean >= 150, (result.summary, evaluation.returns)  # random: ~22


@pytest.mark.slow
def test_actor_critic_learns_cartpole_within_seconds(tmp_path):
    result = train("actor_critic", "CartPole-v1", seed=0, out_dir=tmp_path,
                   overrides={**FAST, "n_timesteps": 80_000, "stop_at_return": 300})
    evaluation = evaluate_agent(result.agent, result.env, 10, seed=123)
    assert evaluation.mean >= 150, (result.summary, evaluation.returns)


def test_actor_critic_normalizes_observations_and_rewards_as_rl_zoos_normalize(tmp_path):
    # the shipped entry with RL Zoo's `normalize: true`: it solves CartPole (500 at ~20k steps here)
    result = train("actor_critic", "CartPole-v1", seed=0, out_dir=tmp_path,
                   overrides={"normalize_observations": True, "normalize_rewards": True})
    assert result.summary["best_eval_return"] >= 475
    agent = result.agent
    # every observation of the rollouts learned from, and the statistics in the checkpoint
    assert agent.normalization.observations.count == pytest.approx(agent.num_timesteps, abs=0.01)
    assert agent.normalization.rewards.statistics.count == pytest.approx(agent.num_timesteps, abs=0.01)
    loaded = load_agent(result.checkpoint)
    np.testing.assert_array_equal(loaded.normalization.observations.var, agent.normalization.observations.var)
    observation = np.array([0.01, 0.5, -0.02, -0.4], dtype=np.float32)
    assert loaded.take_action(observation, deterministic=True) == agent.take_action(observation, deterministic=True)
    # acting sees the normalised observation: the policy on the raw one may choose otherwise
    normalised = agent.normalization(observation)
    assert agent.take_action(observation, deterministic=True) == agent.policy.act(normalised, True)


def test_actor_critic_runs_on_async_envs_and_continuous_actions(tmp_path):
    result = train("actor_critic", "Pendulum-v1", seed=0, out_dir=tmp_path,
                   overrides={"n_timesteps": 400, "n_envs": 4, "vectorization": "async", "eval_freq": 200,
                              "n_eval_episodes": 1})
    assert result.summary["steps"] == 400 and result.agent.n_updates == 20
    action = result.agent.take_action(np.zeros(3, np.float32), deterministic=True)
    assert action.shape == (1,) and -2.0 <= action[0] <= 2.0


def test_reinforce_updates_once_per_episode_and_checks_its_config(tmp_path):
    result = train("reinforce", "CartPole-v1", seed=1, out_dir=tmp_path, overrides={"n_timesteps": 300})
    assert result.agent.n_updates == result.summary["episodes"] > 5
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match="needs n_envs: 1"):
        train("reinforce", "CartPole-v1", out_dir=tmp_path, overrides={"n_envs": 4})
    with pytest.raises(ZooError, match="keep n_envs: 1 and n_steps: 0"):
        train("reinforce", "CartPole-v1", out_dir=tmp_path, overrides={"n_steps": 5})


@pytest.mark.parametrize("algo, agent_class", [("reinforce", ReinforceAgent), ("actor_critic", ActorCriticAgent)])
def test_interrupted_run_leaves_a_loadable_checkpoint(algo, agent_class, tmp_path, monkeypatch):
    update = agent_class.update

    def update_then_ctrl_c(self, rollout):
        metrics = update(self, rollout)
        if self.n_updates == 10:
            signal.raise_signal(signal.SIGINT)
        return metrics

    monkeypatch.setattr(agent_class, "update", update_then_ctrl_c)
    result = train(algo, "CartPole-v1", seed=0, out_dir=tmp_path,
                   overrides={"n_timesteps": 50_000, "eval_freq": 0, "stop_at_return": None})
    assert result.interrupted and result.summary["steps"] < 50_000
    assert load_agent(result.checkpoint, algo=algo).n_updates == 10


def test_same_seed_same_numbers(tmp_path):
    runs = [train("actor_critic", "CartPole-v1", seed=3, out_dir=tmp_path, overrides={"n_timesteps": 4000})
            for _ in range(2)]
    logs = [[line.rsplit(",", 1)[0] for line in (r.run_dir / "progress.csv").read_text().splitlines()] for r in runs]
    assert logs[0] == logs[1] and len(logs[0]) > 10


@pytest.mark.parametrize("algo", ["reinforce", "actor_critic"])
@pytest.mark.parametrize("env_id", ["Acrobot-v1", "LunarLander-v3"])
def test_shipped_entries_for_the_other_envs_run(algo, env_id, tmp_path):
    if env_id.startswith("LunarLander"):
        pytest.importorskip("Box2D")  # the box2d extra; the test extra installs it
    result = train(algo, env_id, seed=0, n_timesteps=600, out_dir=tmp_path,
                   overrides={"eval_freq": 0, "stop_at_return": None})
    assert result.summary["steps"] >= 600 and result.agent.n_updates > 0


# ---- gSDE (use_sde) ------------------------------------------------------------------------

def _sde_policy(sample_freq=-1, seed=0):
    from zoo.policies import PolicyNetwork

    torch.manual_seed(seed)
    box = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)
    policy = PolicyNetwork(gym.spaces.Box(-1.0, 1.0, (3,), np.float32), box, [8], "tanh", "orthogonal",
                           use_sde=True, sde_sample_freq=sample_freq)
    with torch.no_grad():
        policy.log_std.copy_(torch.randn(8, 2) * 0.5 - 1.0)  # not all equal: each pair counts
    return policy


def test_gsde_scores_actions_by_the_state_dependent_gaussian_it_samples_from():
    """log pi(a|s) and the entropy are those of N(mu(s), sqrt(z(s)^2 @ sigma^2 + 1e-6)); the
    numpy sampler's actions are mu(s) + z(s) @ E with E the env's current matrix, and its
    log-probabilities equal torch's for them."""
    from torch.distributions import Normal

    policy = _sde_policy()
    observations = np.random.default_rng(0).uniform(-1, 1, (4, 3)).astype(np.float32)
    actions, numpy_log_probs = policy.sample_with_log_probs(observations, np.random.default_rng(1))
    obs = torch.from_numpy(observations)
    with torch.no_grad():
        features = policy.torso(obs)
        mean = policy.head(features)
        scale = torch.sqrt(features ** 2 @ policy.log_std.exp() ** 2 + 1e-6)
        expected = Normal(mean, scale)
        log_probs, entropy = policy.log_prob_and_entropy(obs, torch.from_numpy(actions))
        noise = torch.einsum("bi,bij->bj", features, policy.exploration)
    torch.testing.assert_close(torch.from_numpy(actions), mean + noise)
    torch.testing.assert_close(log_probs, expected.log_prob(torch.from_numpy(actions)).sum(-1))
    torch.testing.assert_close(entropy, expected.entropy().sum(-1))
    np.testing.assert_allclose(numpy_log_probs, log_probs.numpy(), rtol=1e-5, atol=1e-5)
    torch_actions, torch_log_probs = policy.sample_with_log_probs_torch(obs)  # the torch path: same matrices
    torch.testing.assert_close(torch_actions, mean + noise)
    torch.testing.assert_close(torch_log_probs, log_probs)
    # the log std trains through the scale; the torso only through the mean (SB3's learn_features=False)
    _, entropy = policy.log_prob_and_entropy(obs, torch.from_numpy(actions))
    entropy.sum().backward()  # the entropy reads the scale alone
    assert policy.log_std.grad is not None and policy.log_std.grad.abs().sum() > 0
    assert all(parameter.grad is None for parameter in policy.torso.parameters())


def test_gsde_matches_sb3s_state_dependent_noise_distribution():
    pytest.importorskip("stable_baselines3", reason="Stable-Baselines3 is not installed (extra: benchmark)")
    from stable_baselines3.common.distributions import StateDependentNoiseDistribution

    policy = _sde_policy()
    obs = torch.from_numpy(np.random.default_rng(2).uniform(-1, 1, (5, 3)).astype(np.float32))
    actions = torch.randn(5, 2)
    with torch.no_grad():
        features = policy.torso(obs)
        theirs = StateDependentNoiseDistribution(2).proba_distribution(policy.head(features), policy.log_std, features)
        ours = policy.log_prob_and_entropy(obs, actions)
    torch.testing.assert_close(ours[0], theirs.log_prob(actions))
    torch.testing.assert_close(ours[1], theirs.entropy())


def test_gsde_draws_its_noise_per_env_per_rollout_and_every_sde_sample_freq_steps():
    same = np.full((2, 3), 0.5, np.float32)  # both envs see the same observation, every step
    every_3 = _sde_policy(sample_freq=3)
    rng = np.random.default_rng(0)
    steps = [every_3.sample_with_log_probs(same, rng)[0] for _ in range(7)]
    assert not np.allclose(steps[0][0], steps[0][1])  # one matrix per env
    for first, last in ((0, 2), (3, 5)):
        for step in range(first + 1, last + 1):
            np.testing.assert_array_equal(steps[step], steps[first])  # held within the block
    assert not np.allclose(steps[2], steps[3]) and not np.allclose(steps[5], steps[6])
    once = _sde_policy()
    held = [once.sample_with_log_probs(same, rng)[0] for _ in range(10)]
    assert all(np.array_equal(step, held[0]) for step in held)  # -1: the whole rollout
    once.new_rollout()  # an update ends the rollout
    assert not np.allclose(once.sample_with_log_probs(same, rng)[0], held[0])


def test_gsde_is_refused_for_discrete_actions_and_a_bad_sample_freq():
    from zoo.config import resolve_hyperparams
    from zoo.errors import ZooError
    from zoo.registry import get_algo

    with pytest.raises(ZooError, match="sde_sample_freq must be -1"):
        resolve_hyperparams(get_algo("ppo"), "Pendulum-v1", {"use_sde": True, "sde_sample_freq": 0})
    with pytest.raises(ZooError, match=r"'use_sde' \(gSDE\) is for Box actions; this env's actions are Discrete\(2\)"):
        train("ppo", "CartPole-v1", n_timesteps=64, overrides={"use_sde": True, "n_steps": 64, "batch_size": 64})


@pytest.mark.parametrize("algo", ["ppo", "actor_critic", "reinforce"])
def test_gsde_agents_train_save_and_load(algo, tmp_path):
    overrides = {"use_sde": True, "sde_sample_freq": 4, "net_arch": [16], "eval_freq": 0, "stop_at_return": None}
    if algo != "reinforce":
        overrides.update(n_envs=2, n_steps=64)
    if algo == "ppo":
        overrides.update(batch_size=64, n_epochs=2)
    result = train(algo, "Pendulum-v1", seed=0, n_timesteps=1024, overrides=overrides, out_dir=tmp_path)
    assert tuple(result.agent.policy.log_std.shape) == (16, 1)
    loaded = load_agent(result.checkpoint)
    for name, array in result.agent.state_arrays().items():
        np.testing.assert_array_equal(loaded.state_arrays()[name], array)
    again = train(algo, "Pendulum-v1", seed=0, n_timesteps=1024, overrides=overrides, out_dir=tmp_path)
    np.testing.assert_array_equal(again.agent.policy.log_std.detach().numpy(),
                                  result.agent.policy.log_std.detach().numpy())  # same seed, same numbers

