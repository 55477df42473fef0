"""PPO and TD3 against hand computations, and learning on a fixed seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import new_agent
from zoo.build import load_agent
from zoo.config import resolve_hyperparams
from zoo.contracts import Batch, Rollout
from zoo.errors import ZooError
from zoo.hand_mlp import NumpyOps, TorchOps
from zoo.registry import get_algo
from zoo.schedules import parse_schedule, remaining_fraction
from zoo.train import train

# ---- PPO ------------------------------------------------------------------------------


def ppo(overrides=None, env_id="CartPole-v1"):
    agent, env, description = new_agent("ppo", env_id=env_id, overrides=overrides)
    return agent, env


def test_clipped_surrogate_value_clipping_and_entropy_match_a_hand_computation():
    agent, _ = ppo({"clip_range_vf": 0.1, "normalize_advantage": False, "ent_coef": 0.01, "vf_coef": 0.5})
    observations = torch.tensor(np.random.default_rng(0).normal(size=(4, 4)), dtype=torch.float32)
    actions = torch.tensor([0, 1, 1, 0])
    with torch.no_grad():
        logits = agent.policy.head(agent.policy.torso(observations)).numpy().astype(np.float64)
        values_now = agent.value_network(observations).squeeze(-1).numpy().astype(np.float64)
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    log_probs = log_softmax[np.arange(4), actions.numpy()]
    old_log_probs = log_probs + np.array([0.5, -0.5, 0.05, 0.0])  # ratios e^-0.5, e^0.5, e^-0.05, 1
    advantages = np.array([1.0, -2.0, 0.5, 3.0])
    old_values = values_now + np.array([0.3, -0.3, 0.05, 0.0])
    returns = np.array([1.0, 0.0, -1.0, 2.0])
    batch = {"observations": observations, "actions": actions,
             "old_log_probs": torch.tensor(old_log_probs, dtype=torch.float32),
             "old_values": torch.tensor(old_values, dtype=torch.float32),
             "advantages": torch.tensor(advantages, dtype=torch.float32),
             "returns": torch.tensor(returns, dtype=torch.float32)}
    losses = agent.minibatch_losses(batch, clip_range=0.2)

    ratio = np.exp(log_probs - old_log_probs)
    surrogate = np.minimum(ratio * advantages, np.clip(ratio, 0.8, 1.2) * advantages)
    clipped_values = old_values + np.clip(values_now - old_values, -0.1, 0.1)
    entropy = -(np.exp(log_softmax) * log_softmax).sum(-1).mean()
    expected = -surrogate.mean() + 0.5 * ((returns - clipped_values) ** 2).mean() - 0.01 * entropy
    assert float(losses["policy_loss"]) == pytest.approx(-surrogate.mean(), rel=1e-5)
    assert float(losses["value_loss"]) == pytest.approx(((returns - clipped_values) ** 2).mean(), rel=1e-5)
    assert float(losses["entropy"]) == pytest.approx(entropy, rel=1e-5)
    assert float(losses["loss"].detach()) == pytest.approx(expected, rel=1e-5)
    assert float(losses["approx_kl"]) == pytest.approx(((ratio - 1) - np.log(ratio)).mean(), rel=1e-4)
    assert float(losses["clip_fraction"]) == pytest.approx(0.5)  # e^+-0.5 are outside [0.8, 1.2]


def test_the_closed_form_gaussian_matches_torch_distributions():
    agent, _ = ppo({"log_std_init": -0.7, "use_sde": False}, env_id="Pendulum-v1")  # gSDE: test_policy_gradient
    observations = torch.randn(5, 3)
    actions = torch.randn(5, 1)
    log_prob, entropy = agent.policy.log_prob_and_entropy(observations, actions)
    distribution = agent.policy.distribution(observations)
    assert torch.allclose(log_prob, distribution.log_prob(actions).sum(-1), atol=1e-5)
    assert torch.allclose(entropy, distribution.entropy().sum(-1), atol=1e-5)


def test_stored_log_probs_are_those_the_update_recomputes():
    """Sampled in numpy at collection time, recomputed by torch in the update: ratio 1."""
    for env_id, use_sde in (("CartPole-v1", False), ("Pendulum-v1", False), ("Pendulum-v1", True)):
        agent, _ = ppo({"use_sde": use_sde}, env_id=env_id)
        observations = np.random.default_rng(1).normal(size=(6, *agent.observation_shape)).astype(np.float32)
        decided = agent.act_batch(observations)
        log_probs, _ = agent.policy.log_prob_and_entropy(torch.as_tensor(observations),
                                                         torch.as_tensor(decided.actions))
        np.testing.assert_allclose(log_probs.detach().numpy(), decided.log_probs, atol=1e-5)
        values = agent.value_network(torch.as_tensor(observations)).squeeze(-1).detach().numpy()
        np.testing.assert_allclose(values, decided.values, atol=1e-5)


def _rollout(agent, steps=8, n_envs=2, seed=0):
    rng = np.random.default_rng(seed)
    observations = rng.normal(size=(steps, n_envs, 4)).astype(np.float32)
    decided = [agent.act_batch(observations[t]) for t in range(steps)]
    terminated = np.zeros((steps, n_envs))
    terminated[3, 0] = 1.0
    return Rollout(observations=observations, actions=np.stack([d.actions for d in decided]),
                   rewards=np.arange(steps * n_envs, dtype=np.float64).reshape(steps, n_envs),
                   terminated=terminated, truncated=np.zeros((steps, n_envs)),
                   next_observations=rng.normal(size=(steps, n_envs, 4)).astype(np.float32),
                   log_probs=np.stack([d.log_probs for d in decided]), values=np.stack([d.values for d in decided]))


def test_every_sample_is_used_once_per_epoch_in_minibatches(monkeypatch):
    agent, _ = ppo({"n_envs": 2, "n_steps": 8, "batch_size": 5, "n_epochs": 3})
    seen = []
    real = agent.minibatch_losses

    def spy(batch, clip_range):
        seen.append(batch["returns"].clone())
        return real(batch, clip_range)

    monkeypatch.setattr(agent, "minibatch_losses", spy)
    rollout = _rollout(agent)
    steps_before = [p.detach().clone() for p in agent.policy.parameters()]
    metrics = agent.update(rollout)
    assert [len(b) for b in seen] == [5, 5, 5, 1] * 3  # 16 samples: ceil(16 / 5) minibatches, 3 epochs
    epochs = [sorted(torch.cat(seen[4 * epoch: 4 * epoch + 4]).tolist()) for epoch in range(3)]
    assert len(epochs[0]) == 16 and epochs[0] == epochs[1] == epochs[2]  # each sample once per epoch
    assert not torch.equal(torch.cat(seen[:4]), torch.cat(seen[4:8]))  # reshuffled between epochs
    assert metrics["epochs"] == 3 and agent.n_updates == 1
    assert any(not torch.equal(a, b) for a, b in zip(steps_before, agent.policy.parameters()))
    assert {"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "explained_variance",
            "learning_rate", "clip_range"} <= set(metrics)


def test_target_kl_stops_the_epochs_before_the_step_that_would_pass_it():
    agent, _ = ppo({"n_envs": 2, "n_steps": 8, "batch_size": 4, "n_epochs": 10, "target_kl": 1e-9,
                    "learning_rate": 0.05})
    metrics = agent.update(_rollout(agent))
    assert metrics["epochs"] < 10  # the first epoch's steps move the policy past 1.5e-9


def test_linear_schedules_fall_to_zero_over_the_budget_and_resume_from_where_they_were():
    assert parse_schedule("lin_3e-4", "lr") == ("linear", 3e-4)
    assert parse_schedule(0.2, "clip") == ("constant", 0.2)
    assert parse_schedule("1e-3", "lr") == ("constant", 1e-3)
    for bad in ("lin_", "lin_-1", "lin_nan", "fast", "0"):
        with pytest.raises(ValueError):
            parse_schedule(bad, "lr")
    assert remaining_fraction((0, 1.0), 250, 1000) == 0.75
    # resumed at 600 of 1000 (0.4 left), budget raised to 2000: 0.4 falls to 0 over 600 -> 2000
    anchor = (600, remaining_fraction((0, 1.0), 600, 1000))
    assert anchor[1] == pytest.approx(0.4)
    assert remaining_fraction(anchor, 600, 2000) == pytest.approx(0.4)
    assert remaining_fraction(anchor, 1300, 2000) == pytest.approx(0.2)
    assert remaining_fraction(anchor, 2000, 2000) == 0.0


def test_a_bad_schedule_is_one_clear_error():
    with pytest.raises(ZooError, match="learning_rate must be a number or 'lin_<number>'"):
        resolve_hyperparams(get_algo("ppo"), "CartPole-v1", {"learning_rate": "lin_fast"})
    with pytest.raises(ZooError, match="'learning_rate' must be a finite number"):
        resolve_hyperparams(get_algo("ppo"), "CartPole-v1", {"learning_rate": float("nan")})


def test_ppo_learns_cartpole_in_seconds_and_resumes_its_schedule(tmp_path):
    # the entry with a linear learning-rate schedule (v0_2's: the shipped one's step size is constant)
    result = train("ppo", "CartPole-v1", seed=0, n_timesteps=12_000, out_dir=tmp_path, hyperparams="v0_2",
                   overrides={"eval_freq": 4000, "n_eval_episodes": 5, "stop_at_return": None})
    best = load_agent(result.run_dir / "best_model.zip")
    assert result.summary["best_eval_return"] >= 400  # random play scores ~22
    rows = (result.run_dir / "evaluations.csv").read_text().splitlines()[1:]
    evaluated_at = [int(row.split(",")[0]) for row in rows]
    assert best.num_timesteps in evaluated_at
    assert result.agent.clock.value(result.agent.learning_rate_schedule) == pytest.approx(0.0, abs=1e-4)
    resumed = train("ppo", "CartPole-v1", seed=0, n_timesteps=12_800, out_dir=tmp_path, resume=result.run_dir,
                    overrides={"eval_freq": 0, "stop_at_return": None})
    # resumed where the first run ended (its schedule at ~0): the new budget starts from that value
    assert resumed.agent.clock.anchor[0] == result.agent.num_timesteps
    assert resumed.agent.clock.anchor[1] == pytest.approx(result.agent.clock.remaining(), abs=1e-9)


def test_ppo_on_box_actions_saves_its_normalisation_statistics(tmp_path):
    result = train("ppo", "Pendulum-v1", seed=0, n_timesteps=2048, out_dir=tmp_path,
                   overrides={"eval_freq": 0, "stop_at_return": None, "n_envs": 2, "n_steps": 512})
    agent = result.agent
    loaded = load_agent(result.checkpoint)
    np.testing.assert_array_equal(loaded.normalization.observations.mean, agent.normalization.observations.mean)
    assert loaded.normalization.rewards.statistics.count == agent.normalization.rewards.statistics.count > 1
    observation = np.array([0.5, -0.5, 1.0], dtype=np.float32)
    action = loaded.take_action(observation, deterministic=True)
    assert action.shape == (1,) and -2.0 <= action[0] <= 2.0
    assert np.array_equal(action, agent.take_action(observation, deterministic=True))


# ---- TD3 ------------------------------------------------------------------------------


def td3(overrides=None):
    agent, env, _ = new_agent("td3", overrides=overrides)
    return agent


def _batch(agent, n=6, seed=0):
    rng = np.random.default_rng(seed)
    return Batch(observations=torch.tensor(rng.normal(size=(n, 3)), dtype=torch.float32),
                 actions=torch.tensor(rng.uniform(-2, 2, size=(n, 1)), dtype=torch.float32),
                 rewards=torch.tensor(rng.normal(size=n), dtype=torch.float32),
                 next_observations=torch.tensor(rng.normal(size=(n, 3)), dtype=torch.float32),
                 terminated=torch.tensor([0, 1, 0, 0, 1, 0], dtype=torch.float32))


def test_td3_is_ddpg_with_three_flags():
    config = resolve_hyperparams(get_algo("td3"), "Pendulum-v1").config
    assert (config.twin_critics, config.policy_delay, config.target_policy_noise, config.target_noise_clip) == \
        (True, 2, 0.2, 0.5)
    assert get_algo("td3").load_agent_class() is get_algo("ddpg").load_agent_class()
    ddpg, _, _ = new_agent("ddpg")
    # DDPG keeps one plain critic MLP, and with it the checkpoint names of zoo 0.1.0
    assert "critic.0.weight" in ddpg.state_arrays() and not ddpg.config.twin_critics


def test_the_smoothed_clipped_double_q_target_by_hand():
    agent = td3({"target_policy_noise": 0.3, "target_noise_clip": 0.4})
    batch = _batch(agent)
    torch.manual_seed(7)
    target = agent.target_q(batch.next_observations)
    torch.manual_seed(7)  # the same noise, by hand
    with torch.no_grad():
        mu = agent.target_actor(batch.next_observations)
        noise = (torch.randn_like(mu) * 0.3).clamp(-0.4, 0.4)
        smoothed = (mu + noise).clamp(-1, 1)
        inputs = torch.cat([batch.next_observations, smoothed], 1)
        q1, q2 = agent.target_critic.member(0, inputs), agent.target_critic.member(1, inputs)
        expected = torch.minimum(q1, q2).squeeze(-1)
    assert torch.allclose(target, expected, atol=1e-6)
    assert (noise.abs() <= 0.4).all() and not torch.equal(smoothed, mu)


def test_the_actor_and_targets_move_every_policy_delay_updates():
    agent = td3({"policy_delay": 3})

    def snapshot(module):
        return [p.detach().clone() for p in module.parameters()]

    moved = []
    for update in range(1, 7):
        actor, target, critics = snapshot(agent.actor), snapshot(agent.target_critic), snapshot(agent.critic)
        metrics = agent.update(_batch(agent, seed=update))
        changed = [any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))
                   for before, module in ((actor, agent.actor), (target, agent.target_critic),
                                          (critics, agent.critic))]
        moved.append(changed)
        assert math.isfinite(metrics["loss"])
    assert [m[0] for m in moved] == [False, False, True, False, False, True]  # actor: updates 3 and 6
    assert [m[1] for m in moved] == [False, False, True, False, False, True]  # targets with it
    assert all(m[2] for m in moved)  # both critics learn every update


def _plain_critic(ensemble, member):
    """Member `member` of an EnsembleMLP as the nn.Sequential of Linear/ReLU a plain TD3 has."""
    layers = []
    for weight, bias in zip(ensemble.weights, ensemble.biases):
        linear = torch.nn.Linear(*weight.shape[1:])
        with torch.no_grad():
            linear.weight.copy_(weight[member].T)
            linear.bias.copy_(bias[member, 0])
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


@pytest.mark.parametrize("path", ["update_with_autograd", "numpy", "torch"])
def test_td3_updates_equal_a_plain_pytorch_td3_from_the_same_state(path):
    """Our update (fused Adam, both critics in one batched pass, in-place ReLU, no critic
    gradients in the actor's pass; or all of it by hand, zoo/hand_mlp.py, in numpy or in torch
    operations) against TD3 written
    plainly, as SB3 does: two nn.Sequential critics, torch.optim.Adam, F.mse_loss. Five updates
    from the same weights and batches (policy_delay 2: the actor and targets move at updates 2
    and 4); every parameter within 1e-5 relative."""
    import copy

    import torch.nn.functional as F

    agent = td3({"net_arch": [64, 48], "batch_size": 32, "gamma": 0.98})
    run_update = agent.update_with_autograd
    if path != "update_with_autograd":
        agent.hand_networks = agent.build_hand_networks(backend=path)
        assert agent.hand_networks is not None
        assert isinstance(agent.hand_networks["critic"].ops, NumpyOps if path == "numpy" else TorchOps)
        run_update = agent.update_by_hand
    actor = copy.deepcopy(agent.actor)
    critics = [_plain_critic(agent.critic, m) for m in (0, 1)]
    target_actor = copy.deepcopy(agent.target_actor)
    target_critics = [_plain_critic(agent.target_critic, m) for m in (0, 1)]
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=agent.config.learning_rate)
    critic_optimizer = torch.optim.Adam([p for c in critics for p in c.parameters()], lr=agent.config.learning_rate)
    gamma, tau = agent.config.gamma, agent.config.tau
    for update in range(1, 6):
        batch = _batch(agent, seed=update)
        torch.manual_seed(update)  # the target policy noise, drawn alike
        run_update(batch)
        torch.manual_seed(update)
        actions = batch.actions / 2.0  # Pendulum's [-2, 2] in the policy's [-1, 1]
        with torch.no_grad():
            next_mu = target_actor(batch.next_observations)
            noise = (torch.randn_like(next_mu) * 0.2).clamp(-0.5, 0.5)
            next_inputs = torch.cat([batch.next_observations, (next_mu + noise).clamp(-1, 1)], 1)
            next_q = torch.minimum(*(c(next_inputs) for c in target_critics)).squeeze(-1)
            y = batch.rewards + gamma * (1 - batch.terminated) * next_q
        inputs = torch.cat([batch.observations, actions], 1)
        critic_loss = sum(F.mse_loss(c(inputs).squeeze(-1), y) for c in critics)
        critic_optimizer.zero_grad()
        critic_loss.backward()
        critic_optimizer.step()
        if update % 2 == 0:
            actor_loss = -critics[0](torch.cat([batch.observations, actor(batch.observations)], 1)).mean()
            actor_optimizer.zero_grad()
            actor_loss.backward()
            actor_optimizer.step()
            with torch.no_grad():
                for online, target in ((actor, target_actor), *zip(critics, target_critics)):
                    for p, t in zip(online.parameters(), target.parameters()):
                        t.mul_(1 - tau).add_(tau * p)
    for ours, plain in ((agent.actor, actor), (agent.target_actor, target_actor)):
        for a, b in zip(ours.parameters(), plain.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    for ours, plain in ((agent.critic, critics), (agent.target_critic, target_critics)):
        for member in (0, 1):
            for a, b in zip(_plain_critic(ours, member).parameters(), plain[member].parameters()):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    assert not torch.equal(next(agent.actor.parameters()), next(agent.target_actor.parameters()))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("algo, overrides", [
    ("ddpg", {}), ("ddpg", {"normalize_observations": True, "activation": "tanh"}), ("td3", {}),
    ("td3", {"policy_delay": 1, "net_arch": [16]}),
])
def test_ddpg_and_td3_update_by_hand_as_with_autograd(algo, overrides, backend):
    """The update runs by hand where the networks can be mirrored (numpy for small ones, torch
    operations without autograd for larger ones): the same losses, weights, targets and Adam
    state as autograd's, update after update."""
    in_numpy, _, _ = new_agent(algo, overrides={"net_arch": [32, 24], **overrides})
    with_autograd, _, _ = new_agent(algo, overrides={"net_arch": [32, 24], **overrides})
    in_numpy.hand_networks = in_numpy.build_hand_networks(backend=backend)
    assert in_numpy.hand_networks is not None
    if in_numpy.normalizer is not None:
        for agent in (in_numpy, with_autograd):
            agent.record_observation(np.random.default_rng(0).normal(2.0, 3.0, size=(50, 3)))
    for update in range(1, 6):
        batch = _batch(in_numpy, seed=update)
        torch.manual_seed(update)  # TD3's target policy noise, drawn alike
        ours = in_numpy.update_by_hand(batch)
        torch.manual_seed(update)
        reference = with_autograd.update_with_autograd(batch)
        assert ours.keys() == reference.keys()
        for name in ours:
            assert ours[name] == pytest.approx(reference[name], rel=1e-5, abs=1e-7)
    expected = with_autograd.state_arrays()
    for name, value in in_numpy.state_arrays().items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("algo", ["ddpg", "td3"])
def test_ddpg_and_td3_by_hand_leave_dead_relu_units_out_and_match_autograd(algo, monkeypatch):
    """Networks wide enough for TorchOps to leave dead ReLU units out of the backward products
    (zoo/hand_mlp.py), half of the second layers' units dead (as DDPG's critic and actor on
    Pendulum after ~1000 updates): the same losses, weights, targets and Adam state as autograd
    over five updates, and the skip was taken: for the critic(s) (TD3's twin critics member by
    member), for the critic the actor follows (TD3: the first) and for the actor."""
    from zoo import hand_mlp

    overrides = {"net_arch": [96, 80], "policy_delay": 1}
    by_hand, _, _ = new_agent(algo, overrides=overrides)
    with_autograd, _, _ = new_agent(algo, overrides=overrides)
    for agent in (by_hand, with_autograd):
        with torch.no_grad():
            agent.actor[0][2].bias[::2] = -1e3
            critic = agent.critic
            if isinstance(critic, torch.nn.Sequential):
                critic[2].bias[::2] = -1e3
            else:
                critic.biases[1][..., ::2] = -1e3
    by_hand.hand_networks = by_hand.build_hand_networks(backend="torch")
    assert by_hand.hand_networks is not None
    skipped = []
    live_outputs = hand_mlp.TorchOps.live_outputs

    def counted(activation, inputs, layer):
        live = live_outputs(activation, inputs, layer)
        skipped.append(live is not None)
        return live

    monkeypatch.setattr(hand_mlp.TorchOps, "live_outputs", staticmethod(counted))
    for update in range(1, 6):
        batch = _batch(by_hand, seed=update)
        torch.manual_seed(update)
        ours = by_hand.update_by_hand(batch)
        torch.manual_seed(update)
        reference = with_autograd.update_with_autograd(batch)
        for name in ours:
            assert ours[name] == pytest.approx(reference[name], rel=1e-5, abs=1e-7)
    assert sum(skipped) == 15  # per update: critic(s), critic to actor, actor (the first layers: too narrow)
    expected = with_autograd.state_arrays()
    for name, value in by_hand.state_arrays().items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_td3s_critics_are_two_independent_mlps_in_one_pass():
    agent = td3()
    inputs = torch.randn(5, 4)
    both = agent.critic(inputs)
    assert both.shape == (2, 5, 1) and not torch.allclose(both[0], both[1])
    assert torch.allclose(both[1], agent.critic.member(1, inputs), atol=1e-6)


def test_td3_saves_and_loads_both_critics(tmp_path):
    agent = td3()
    agent.update(_batch(agent))
    agent.update(_batch(agent, seed=1))
    path = agent.save(tmp_path / "model.zip")
    loaded = load_agent(path)
    assert loaded.algo == "td3" and loaded.config.twin_critics
    for a, b in zip(agent.critic.parameters(), loaded.critic.parameters()):
        assert torch.equal(a, b)


# ---- the command line, as for every other agent ----------------------------------------


def test_the_cli_plays_uploads_plots_and_logs_ppo_and_td3(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from zoo.cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def ok(*args):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "trained" in ok("enjoy", "ppo", "CartPole-v1", "--episodes", 1)  # the shipped agents
    assert "trained" in ok("evaluate", "td3", "Pendulum-v1", "--episodes", 1)
    ok("upload", "ppo", "Pendulum-v1", "--repo-id", "me/ppo-pendulum", "--out", "card", "--no-video", "--episodes", 1)
    assert (tmp_path / "card" / "model.zip").exists()
    pytest.importorskip("tensorboard")
    # rollouts of 8 envs x 32 steps: two updates within 512 steps (the entry's 128 steps would make none)
    ok("train", "ppo", "CartPole-v1", "--steps", 512, "--hp", "n_steps=32", "--hp", "eval_freq=256",
       "--hp", "n_eval_episodes=1", "--hp", "stop_at_return=null", "--tensorboard")
    events = list((tmp_path / "runs" / "ppo" / "CartPole-v1_1" / "tensorboard").glob("events.*"))
    assert events and b"train/clip_fraction" in events[0].read_bytes()
    pytest.importorskip("matplotlib")
    ok("plot", "runs/ppo/CartPole-v1_1", "--out", "curves.png")
    assert (tmp_path / "curves.png").exists()


@pytest.mark.slow  # ~20 s of [32, 32] TD3 updates (the actor learns every 2nd one)
def test_td3_learns_pendulum(tmp_path):
    from zoo.evaluation import evaluate_agent

    # one update per step, as the entry (pinned: DDPG's study entry made 4, ~90 s here)
    result = train("td3", "Pendulum-v1", seed=0, out_dir=tmp_path,
                   overrides={"n_timesteps": 10_000, "eval_freq": 0, "stop_at_return": None, "train_freq": 1,
                              "gradient_steps": 1})
    evaluation = evaluate_agent(result.agent, result.env, 5, seed=123)
    assert evaluation.mean > -400, evaluation.returns  # a random policy scores about -1200


@pytest.mark.slow  # ~20 s: the entry (RL Zoo's, gSDE included) at its 100k steps
def test_ppo_learns_pendulum(tmp_path):
    from zoo.evaluation import evaluate_agent

    result = train("ppo", "Pendulum-v1", seed=0, out_dir=tmp_path, overrides={"eval_freq": 0})
    assert result.agent.config.use_sde and result.agent.num_timesteps >= 100_000
    # PPO on this entry varies a lot from seed to seed, SB3's as much as ours (final policies over
    # 20 episodes, `zoo benchmark ppo Pendulum-v1 --hyperparams rl_zoo`: seeds 0-4 ours -120,
    # -502, -152, -246, -155, SB3's -645, -297, -154, -614, -290 on 2026-11-26; seeds 0-1 ours
    # -322, -681, SB3's -169, -198 on 2026-11-27); seed 0 here: median -343, mean -435 (it was
    # asserted > -300 on 10 episodes while the run's threads still depended on what ran before
    # it in the process: zoo.train). A random policy scores about -1200.
    evaluation = evaluate_agent(result.agent, result.env, 20, seed=123)
    assert np.median(evaluation.returns) > -500 and evaluation.mean > -700, evaluation.returns
