"""DDPG and SAC (continuous and discrete): the maths by hand, bounds, and learning."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from zoo.agents.ddpg import DDPGAgent, DDPGConfig
from zoo.agents.sac import LOG_STD_MAX, LOG_STD_MIN, SACAgent, SACConfig, squashed_log_prob
from zoo.build import load_agent
from zoo.contracts import Batch
from zoo.evaluation import evaluate_agent
from zoo.networks import EnsembleMLP, mlp
from zoo.normalization import ObservationNormalizer
from zoo.train import train

OBS = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
ASYMMETRIC = gym.spaces.Box(np.array([0.0, -1.0], np.float32), np.array([2.0, 5.0], np.float32))


def test_squashed_log_prob_matches_a_numerical_change_of_variables():
    torch.manual_seed(0)
    mean, log_std = torch.randn(500, 2, dtype=torch.float64), torch.randn(500, 2, dtype=torch.float64) * 0.5
    pre_tanh = mean + log_std.exp() * torch.randn(500, 2, dtype=torch.float64)
    actions = torch.tanh(pre_tanh)
    # density of a = tanh(u): p_u(atanh(a)) * |d atanh(a) / da|, the derivative by central differences
    h = 1e-6
    u = torch.atanh(actions)
    jacobian = (torch.atanh(actions + h) - torch.atanh(actions - h)) / (2 * h)
    numerical = (torch.distributions.Normal(mean, log_std.exp()).log_prob(u) + torch.log(jacobian)).sum(-1)
    ours = squashed_log_prob(pre_tanh, mean, log_std)
    # Near +-1 the formula's 1e-6 (which keeps the log finite) starts to show, as it should.
    close = actions.abs().max(-1).values < 0.99
    assert close.sum() > 250
    torch.testing.assert_close(ours[close], numerical[close], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("agent_class, config_class", [(SACAgent, SACConfig), (DDPGAgent, DDPGConfig)])
def test_actions_always_lie_inside_asymmetric_bounds(agent_class, config_class):
    agent = agent_class(OBS, ASYMMETRIC, config_class(net_arch=[16]), seed=0)
    observations = np.random.default_rng(0).normal(scale=50.0, size=(300, 3)).astype(np.float32)
    for deterministic in (True, False):
        actions = np.array([agent.take_action(o, deterministic=deterministic) for o in observations])
        assert actions.shape == (300, 2)
        assert np.all(actions >= ASYMMETRIC.low) and np.all(actions <= ASYMMETRIC.high)
    warmup = agent.random_actions(1000)
    assert np.all(warmup >= ASYMMETRIC.low) and np.all(warmup <= ASYMMETRIC.high)
    assert warmup[:, 1].max() > 4.0 and warmup[:, 0].min() < 0.1  # the whole box is explored


@pytest.mark.parametrize("log_std, grows", [(-5.0, True), (0.0, False)])
def test_temperature_loss_moves_alpha_toward_the_target_entropy(log_std, grows):
    # Target entropy -2 (= -dim A). A policy with std e^-5 has far less; tanh(N(0, 1)) more.
    agent = SACAgent(OBS, gym.spaces.Box(-1, 1, (2,), np.float32), SACConfig(net_arch=[8]), seed=0)
    with torch.no_grad():
        for head in (agent.actor.log_std_head, agent.actor.mean_head):
            head.weight.zero_()
            head.bias.zero_()
        agent.actor.log_std_head.bias.fill_(log_std)
    _, log_pi = agent.actor.sample(torch.randn(256, 3))
    before = agent.alpha
    step_temperature(agent, log_pi)
    assert (agent.alpha > before) == grows


def test_discrete_temperature_moves_toward_the_target_entropy():
    agent = SACAgent(OBS, gym.spaces.Discrete(4), SACConfig(net_arch=[8], target_entropy=0.5), seed=0)
    uniform = torch.full((64, 4), math.log(0.25))  # entropy log 4 > 0.5: alpha must shrink
    before = agent.alpha
    step_temperature(agent, (uniform.exp() * uniform).sum(1))
    assert agent.alpha < before


def step_temperature(agent, log_pi):
    agent.alpha_optimizer.zero_grad()
    agent.temperature_loss(log_pi).backward()
    agent.alpha_optimizer.step()


@pytest.mark.parametrize("out_features", [1, 3], ids=["one-output-critic", "discrete-critic"])
def test_twin_critics_in_one_pass_equal_two_separate_networks(out_features):
    # values and gradients (a one-output head is a product-and-sum, not a bmm: zoo/networks.py)
    ensemble = EnsembleMLP(2, 5, out_features, [7, 6], "relu")
    inputs = torch.randn(9, 5)
    out = ensemble(inputs)
    assert out.shape == (2, 9, out_features)
    weights = torch.randn_like(out)
    (out * weights).sum().backward()
    for member in range(2):
        single = mlp(5, out_features, [7, 6], "relu")
        linears = [m for m in single if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for layer, weight, bias in zip(linears, ensemble.weights, ensemble.biases):
                layer.weight.copy_(weight[member].T)
                layer.bias.copy_(bias[member, 0])
        single_out = single(inputs)
        torch.testing.assert_close(out[member], single_out)
        (single_out * weights[member]).sum().backward()
        for layer, weight, bias in zip(linears, ensemble.weights, ensemble.biases):
            torch.testing.assert_close(weight.grad[member], layer.weight.grad.T)
            torch.testing.assert_close(bias.grad[member, 0], layer.bias.grad)


def test_ensemble_members_start_like_nn_linear():
    ensemble = EnsembleMLP(2, 100, 1, [50], "relu")
    bound = 1 / math.sqrt(100)
    first = ensemble.weights[0]
    assert first.abs().max() <= bound and first.abs().max() > 0.9 * bound
    assert not torch.equal(first[0], first[1])  # independent members


def test_discrete_sac_target_is_the_soft_value_of_the_smaller_target_critic():
    from zoo.contracts import Batch

    agent = SACAgent(OBS, gym.spaces.Discrete(2), SACConfig(net_arch=[], gamma=0.5, ent_coef=0.1), seed=0)
    with torch.no_grad():  # hand-set target critics: Q'_1 = (1, 4), Q'_2 = (2, 3); policy logits 0 -> pi = 1/2
        agent.target_critics.weights[0].zero_()
        agent.target_critics.biases[0].copy_(torch.tensor([[[1.0, 4.0]], [[2.0, 3.0]]]))
        agent.actor[0].weight.zero_()
        agent.actor[0].bias.zero_()
    batch = Batch(torch.zeros(2, 3), torch.tensor([0, 1]), torch.tensor([1.0, 1.0]), torch.zeros(2, 3),
                  torch.tensor([0.0, 1.0]))
    # V(s') = sum_a pi(a) (min(Q'_1, Q'_2)(a) - alpha log pi(a)) = 0.5 * (1 + 3) + 0.1 * log 2
    soft_value = 0.5 * (1 + 3) + 0.1 * math.log(2)
    targets = agent.discrete_td_target(batch, torch.tensor(0.1))
    torch.testing.assert_close(targets, torch.tensor([1.0 + 0.5 * soft_value, 1.0]))


@pytest.mark.slow
def test_sac_learns_pendulum(tmp_path):
    result = train("sac", "Pendulum-v1", seed=0, out_dir=tmp_path,
                   overrides={"n_timesteps": 5000, "eval_freq": 0, "stop_at_return": None, "net_arch": [64, 64],
                              "train_freq": 1, "gradient_steps": 1})  # one update per step, not the entry's
    evaluation = evaluate_agent(result.agent, result.env, 5, seed=123)
    assert evaluation.mean > -400, evaluation.returns  # a random policy scores about -1200


@pytest.mark.slow
@pytest.mark.parametrize("normalize", [False, True], ids=["raw", "normalized-observations"])
def test_ddpg_learns_pendulum(tmp_path, normalize):
    result = train("ddpg", "Pendulum-v1", seed=0, out_dir=tmp_path,
                   overrides={"n_timesteps": 5000, "eval_freq": 0, "stop_at_return": None,
                              "train_freq": 1, "gradient_steps": 1,  # one update per step (the entry makes 4)
                              "normalize_observations": normalize})
    evaluation = evaluate_agent(result.agent, result.env, 5, seed=123)
    assert evaluation.mean > -400, evaluation.returns
    if normalize:  # every observation of training: 5000 steps and 26 resets (25 episodes of 200)
        assert result.agent.normalizer.count == pytest.approx(5026, abs=0.01)
        reloaded = load_agent(result.checkpoint)
        np.testing.assert_array_equal(reloaded.normalizer.mean, result.agent.normalizer.mean)
        observation = np.array([0.3, -0.9, 4.0], dtype=np.float32)
        np.testing.assert_array_equal(reloaded.take_action(observation, True),
                                      result.agent.take_action(observation, True))


def test_running_observation_statistics_equal_those_of_all_the_data():
    data = np.random.default_rng(0).normal([1.0, -50.0, 3.0], [0.5, 20.0, 0.1], size=(1000, 3))
    normalizer = ObservationNormalizer((3,))
    for chunk in np.array_split(data, [1, 2, 10, 300, 301]):  # single observations and batches
        normalizer.update(chunk)
    np.testing.assert_allclose(normalizer.mean, data.mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(normalizer.var, data.var(0), rtol=1e-4)
    normalized = normalizer(data.astype(np.float32))
    np.testing.assert_allclose(normalized.mean(0), 0.0, atol=1e-3)
    np.testing.assert_allclose(normalized.std(0), 1.0, atol=1e-3)
    torch.testing.assert_close(normalizer.torch(torch.from_numpy(data.astype(np.float32))),
                               torch.from_numpy(normalized))
    assert np.abs(normalizer(np.full(3, 1e6, np.float32))).max() == 10.0  # clipped as SB3 does


@pytest.mark.slow
def test_discrete_sac_learns_cartpole(tmp_path):
    result = train("sac", "CartPole-v1", seed=0, out_dir=tmp_path,
                   overrides={"n_timesteps": 8000, "eval_freq": 2000, "n_eval_episodes": 5, "stop_at_return": 250})
    evaluation = evaluate_agent(result.agent, result.env, 10, seed=123)
    assert evaluation.mean >= 150, (result.summary, evaluation.returns)  # random: ~22


@pytest.mark.parametrize("algo, env_id", [("ddpg", "MountainCarContinuous-v0"), ("sac", "MountainCarContinuous-v0"),
                                          ("sac", "LunarLanderContinuous-v3"), ("ddpg", "LunarLanderContinuous-v3")])
def test_shipped_entries_for_the_other_envs_run(algo, env_id, tmp_path):
    if env_id.startswith("LunarLander"):
        pytest.importorskip("Box2D")
    result = train(algo, env_id, seed=0, n_timesteps=300, out_dir=tmp_path,
                   overrides={"learning_starts": 100, "eval_freq": 0, "stop_at_return": None, "net_arch": [32]})
    assert result.summary["steps"] == 300 and result.agent.n_updates > 0


def test_unsupported_action_spaces_are_clear_errors():
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match="for Discrete ones use dqn or sac"):
        DDPGAgent(OBS, gym.spaces.Discrete(3), DDPGConfig())
    unbounded = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    for agent_class, config_class in ((SACAgent, SACConfig), (DDPGAgent, DDPGConfig)):
        with pytest.raises(ZooError, match="needs a bounded Box action space"):
            agent_class(OBS, unbounded, config_class())


@pytest.mark.parametrize("action_space", [gym.spaces.Box(-2, 2, (1,), np.float32), gym.spaces.Discrete(3)])
def test_one_backward_gives_each_network_only_its_own_loss_gradient(action_space):
    # The joint backward must equal separate ones: the actor's loss moves the actor only,
    # the critic's loss the critics only (their weights are frozen in the actor's pass).
    agent = SACAgent(OBS, action_space, SACConfig(net_arch=[16]), seed=0)
    generator = np.random.default_rng(0)
    actions = (generator.uniform(-2, 2, (32, 1)).astype(np.float32) if agent.actions
               else generator.integers(3, size=32))
    batch = Batch(torch.randn(32, 3), torch.as_tensor(actions), torch.randn(32), torch.randn(32, 3),
                  torch.zeros(32))
    losses = agent._discrete_losses if agent.discrete else agent._continuous_losses

    def gradients(pick):
        torch.manual_seed(1)
        critic_loss, actor_loss, log_pi = losses(batch, torch.tensor(0.2))
        temperature_loss = agent.temperature_loss(log_pi)
        for parameter in [*agent.actor.parameters(), *agent.critics.parameters(), agent.log_alpha]:
            parameter.grad = None
        pick(critic_loss, actor_loss, temperature_loss).backward()
        zero_if_none = [p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                        for p in [*agent.critics.parameters(), *agent.actor.parameters(), agent.log_alpha]]
        n_critic = len(list(agent.critics.parameters()))
        return zero_if_none[:n_critic], zero_if_none[n_critic:-1], zero_if_none[-1]

    joint_critic, joint_actor, joint_alpha = gradients(lambda c, a, t: c + a + t)
    critic_only, _, no_alpha = gradients(lambda c, a, t: c + 0 * (a + t))
    _, actor_only, _ = gradients(lambda c, a, t: a + 0 * (c + t))
    _, _, alpha_only = gradients(lambda c, a, t: t + 0 * (c + a))
    for joint, alone in zip(joint_critic + joint_actor, critic_only + actor_only):
        torch.testing.assert_close(joint, alone)
    torch.testing.assert_close(joint_alpha, alpha_only)  # the temperature learns from its loss alone
    assert float(alpha_only) != 0.0 and float(no_alpha) == 0.0


@pytest.mark.parametrize("ent_coef", [0.0, 0.05])
def test_a_fixed_temperature_is_the_configured_alpha(ent_coef):
    # 0 means no entropy term at all (it once read as "unset" and trained with alpha = 1).
    agent = SACAgent(OBS, gym.spaces.Box(-2, 2, (1,), np.float32), SACConfig(net_arch=[16], ent_coef=ent_coef),
                     seed=0)
    batch = Batch(torch.randn(32, 3), torch.rand(32, 1) * 4 - 2, torch.randn(32), torch.randn(32, 3),
                  torch.zeros(32))
    for _ in range(3):
        metrics = agent.update(batch)
    assert agent.alpha == pytest.approx(ent_coef) and metrics["alpha"] == pytest.approx(ent_coef)
    assert metrics["alpha_loss"] == 0.0


def test_ornstein_uhlenbeck_noise_restarts_at_each_episode_end():
    agent = DDPGAgent(OBS, gym.spaces.Box(-1, 1, (2,), np.float32),
                      DDPGConfig(noise="ornstein_uhlenbeck", noise_std=0.5, net_arch=[8]), seed=0)
    for _ in range(20):
        agent.take_action(np.zeros(3, np.float32))
    assert np.abs(agent.noise_state).sum() > 0
    agent.on_episode_end()  # the off-policy loop calls it when an episode ends, as SB3 resets its noise
    np.testing.assert_array_equal(agent.noise_state, 0.0)


def _replay_batch(seed, n=32, action_low=-2.0, action_high=2.0, action_dim=1):
    rng = np.random.default_rng(seed)
    return Batch(observations=torch.tensor(rng.normal(size=(n, 3)), dtype=torch.float32),
                 actions=torch.tensor(rng.uniform(action_low, action_high, size=(n, action_dim)), dtype=torch.float32),
                 rewards=torch.tensor(rng.normal(size=n), dtype=torch.float32),
                 next_observations=torch.tensor(rng.normal(size=(n, 3)), dtype=torch.float32),
                 terminated=torch.tensor(rng.integers(0, 2, size=n), dtype=torch.float32))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("overrides", [{}, {"ent_coef": 0.1}, {"normalize_observations": True, "activation": "tanh"},
                                       {"net_arch": [16]}, {"use_sde": True},
                                       {"use_sde": True, "action_dim": 2, "log_std_init": -0.5, "ent_coef": 0.2,
                                        "mean_bias": 2.0}])
def test_sac_update_by_hand_as_with_autograd(overrides, backend):
    """SAC's continuous update with its backward pass written out (the squashed Gaussian's or
    gSDE's, the min over critics'; zoo/hand_mlp.py for the networks), in numpy and in torch
    operations, against autograd's, from the same state and the same draws, update after
    update: losses, alpha, weights, targets and Adam state within 1e-5 relative."""
    overrides = dict(overrides)
    action_dim = overrides.pop("action_dim", 1)
    mean_bias = overrides.pop("mean_bias", None)  # gSDE's means about half past their clip at 2
    space = gym.spaces.Box(-2.0, 2.0, (action_dim,), np.float32)
    config = SACConfig(**{"net_arch": [32, 24], "learning_rate": 1e-3, **overrides})
    by_hand, with_autograd = (SACAgent(OBS, space, config, algo="sac", env_id="Pendulum-v1", seed=0)
                              for _ in range(2))
    by_hand.hand_networks = by_hand.build_hand_networks(backend)
    assert by_hand.hand_networks is not None
    assert type(by_hand.hand_networks["critics"].ops).__name__ == {"numpy": "NumpyOps", "torch": "TorchOps"}[backend]
    if mean_bias is not None:
        for agent in (by_hand, with_autograd):
            with torch.no_grad():
                agent.squashed_actor().mean_head.bias.fill_(mean_bias)
    for agent in (by_hand, with_autograd):
        if agent.normalizer is not None:
            agent.record_observation(np.random.default_rng(0).normal(2.0, 3.0, size=(50, 3)))
    for update in range(1, 6):
        batch = _replay_batch(update, action_dim=action_dim)
        torch.manual_seed(update)  # the policy's draws, alike
        ours = by_hand.update_by_hand(batch)
        torch.manual_seed(update)
        reference = with_autograd.update_with_autograd(batch)
        assert ours.keys() == reference.keys()
        for name in ours:
            assert ours[name] == pytest.approx(reference[name], rel=1e-5, abs=1e-7), name
    expected = with_autograd.state_arrays()
    for name, value in by_hand.state_arrays().items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("threads", [1, 2])
def test_sac_numpy_update_steps_adam_in_torchs_fused_kernel_on_one_thread_only(threads, monkeypatch):
    """The numpy walk's optimizer steps: torch's fused kernel on one torch thread, numpy's Adam
    beside two (the fused kernel between numpy's products made the pools fight: 18x slower).
    Either way the update is autograd's."""
    import zoo.hand_mlp
    from zoo.optim import step_together

    fused = []
    monkeypatch.setattr(zoo.hand_mlp, "step_together", lambda optimizers: fused.append(optimizers)
                        or step_together(optimizers))
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
        by_hand, with_autograd = (SACAgent(OBS, space, SACConfig(net_arch=[32, 24], learning_rate=1e-3), algo="sac",
                                           seed=0) for _ in range(2))
        assert type(by_hand.hand_networks["critics"].ops).__name__ == "NumpyOps"
        for update in range(1, 4):
            torch.manual_seed(update)
            by_hand.update(_replay_batch(update))
            torch.manual_seed(update)
            with_autograd.update_with_autograd(_replay_batch(update))
    finally:
        torch.set_num_threads(previous)
    assert len(fused) == (3 if threads == 1 else 0)
    expected = with_autograd.state_arrays()
    for name, value in by_hand.state_arrays().items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_the_squashed_samples_backward_pass_is_autograds_on_both_sides_of_the_clamp():
    """_SquashedSample.backward against autograd through SquashedGaussianActor.sample's and
    squashed_log_prob's arithmetic, in float64 (where a std of e^-20 still moves u), with raw
    log-stds below -20, inside, and above 2 (outside the clamp the gradient is zero)."""
    from zoo.agents.sac import _SquashedSample

    torch.manual_seed(0)
    mean = torch.randn(300, 2, dtype=torch.float64, requires_grad=True)
    raw_log_std = (torch.rand(300, 2, dtype=torch.float64) * 30.0 - 24.0).requires_grad_()
    assert (raw_log_std < -20).any() and (raw_log_std > 2).any()
    action_gradient, log_prob_gradient = torch.randn(300, 2, dtype=torch.float64), 0.37
    torch.manual_seed(1)
    sample = _SquashedSample.draw(mean.detach(), raw_log_std.detach())
    torch.manual_seed(1)
    log_std = raw_log_std.clamp(-20.0, 2.0)
    pre_tanh = mean + log_std.exp() * torch.randn_like(mean)
    action = torch.tanh(pre_tanh)
    ((action * action_gradient).sum() + log_prob_gradient * squashed_log_prob(pre_tanh, mean, log_std).sum()).backward()
    torch.testing.assert_close(sample.action, action.detach())
    mean_gradient, log_std_gradient = sample.backward(action_gradient, log_prob_gradient)
    # Where std is e^-20 autograd sums two opposite terms of ~1e8 into mean's gradient (rounding
    # ~1e-8 in float64); the walk leaves them out, as their exact sum is 0.
    torch.testing.assert_close(mean_gradient, mean.grad, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(log_std_gradient, raw_log_std.grad, rtol=1e-9, atol=1e-9)
    assert (log_std_gradient[(raw_log_std < -20) | (raw_log_std > 2)] == 0).all()


def test_sac_updates_by_hand_where_the_networks_can_be_mirrored():
    space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    assert SACAgent(OBS, space, SACConfig(), algo="sac", seed=0).hand_networks is not None
    # in numpy for small networks (SAC's torso runs 2 x batch rows), in torch operations beyond
    for net_arch, batch_size, backend in (([64, 64], 128, "NumpyOps"), ([256, 256], 256, "TorchOps"),
                                          ([128, 128], 128, "NumpyOps"), ([128, 128], 256, "TorchOps")):
        agent = SACAgent(OBS, space, SACConfig(net_arch=net_arch, batch_size=batch_size), algo="sac", seed=0)
        assert agent.hand_networks is not None
        assert type(agent.hand_networks["critics"].ops).__name__ == backend, (net_arch, batch_size)
    assert SACAgent(OBS, space, SACConfig(activation="elu"), algo="sac", seed=0).hand_networks is None
    assert SACAgent(OBS, gym.spaces.Discrete(3), SACConfig(), algo="sac", seed=0).hand_networks is None


def test_a_hand_mirror_learns_from_the_rows_a_loss_reads():
    """HandMLP's `rows` (SAC's actor runs s and s' in one pass; its loss reads s's rows) and
    `parameter_gradients=False` (the actor's loss through critics it does not move): the same
    gradients as passes over each batch alone, and no parameter gradient written."""
    from zoo.hand_mlp import HandMLP
    from zoo.optim import ClippedAdam

    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    optimizer = ClippedAdam(list(network.parameters()), 1e-3)
    mirror = HandMLP.build(network, gradient_of=optimizer.gradient_of("torch"), backend="torch")
    assert mirror is not None
    first_batch, second_batch = torch.randn(5, 3), torch.randn(5, 3)
    first_gradient, second_gradient = torch.randn(5, 2), torch.randn(5, 2)

    mirror.forward(first_batch, keep=True)
    mirror.backward(first_gradient)
    expected = [gradient.clone() for gradient in optimizer.torch_gradients()]
    mirror.forward(second_batch, keep=True)
    expected_input_gradient = mirror.backward_to_input(second_gradient, columns=slice(1, None))

    for gradient in optimizer.torch_gradients():
        gradient.fill_(7.0)
    mirror.forward(torch.cat([first_batch, second_batch]), keep=True)
    input_gradient = mirror.backward_to_input(second_gradient, columns=slice(1, None), rows=slice(5, 10),
                                              parameter_gradients=False)
    torch.testing.assert_close(input_gradient, expected_input_gradient)
    assert all((gradient == 7.0).all() for gradient in optimizer.torch_gradients())  # untouched
    mirror.backward(first_gradient, rows=slice(0, 5))
    for gradient, reference in zip(optimizer.torch_gradients(), expected):
        torch.testing.assert_close(gradient, reference)


def test_a_hand_mirror_leaves_dead_relu_units_out_of_its_backward_products(monkeypatch):
    """Where half of a wide layer's ReLU units are dead on the batch (0 on every row),
    TorchOps computes the backward products over the live units alone (zoo/hand_mlp.py,
    live_outputs): the parameters' gradients (dead rows exactly 0) and dLoss/dInput as
    autograd's, also for the `rows` of a pass and without parameter gradients."""
    from zoo import hand_mlp
    from zoo.hand_mlp import HandMLP
    from zoo.optim import ClippedAdam

    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(5, 96), nn.ReLU(), nn.Linear(96, 80), nn.ReLU(), nn.Linear(80, 3))
    with torch.no_grad():
        network[2].bias[::2] = -1e3  # 40 of its 80 units output 0 for any input
    optimizer = ClippedAdam(list(network.parameters()), 1e-3)
    mirror = HandMLP.build(network, gradient_of=optimizer.gradient_of("torch"), backend="torch", skip_dead_units=True)
    assert mirror is not None
    live_counts = []
    live_outputs = hand_mlp.TorchOps.live_outputs

    def counted(activation, inputs, layer):
        live = live_outputs(activation, inputs, layer)
        live_counts.append(None if live is None else len(live))
        return live

    monkeypatch.setattr(hand_mlp.TorchOps, "live_outputs", staticmethod(counted))
    other_rows, batch, output_gradient = torch.randn(7, 5), torch.randn(16, 5), torch.randn(16, 3)

    inputs = batch.clone().requires_grad_()
    (network(inputs) * output_gradient).sum().backward()
    mirror.forward(torch.cat([other_rows, batch]), keep=True)
    for gradient in optimizer.torch_gradients():
        gradient.fill_(7.0)  # dead rows must be written as 0, not left as they were
    input_gradient = mirror.backward_to_input(output_gradient, columns=slice(2, None), rows=slice(7, 23))
    assert 0 < live_counts[0] <= 40  # the second layer's live units (its own dead ones aside)
    for gradient, parameter in zip(optimizer.torch_gradients(), network.parameters()):
        torch.testing.assert_close(gradient, parameter.grad, rtol=1e-5, atol=1e-6)
    assert (optimizer.torch_gradients()[2][::2] == 0).all() and (optimizer.torch_gradients()[3][::2] == 0).all()
    torch.testing.assert_close(input_gradient, inputs.grad[:, 2:], rtol=1e-5, atol=1e-6)
    alone = mirror.backward_to_input(output_gradient, rows=slice(7, 23), parameter_gradients=False)
    torch.testing.assert_close(alone, inputs.grad, rtol=1e-5, atol=1e-6)

    with torch.no_grad():
        network[2].bias[::2] = 0.1  # all live: the full products
    live_counts.clear()
    mirror.forward(batch, keep=True)
    mirror.backward(output_gradient)
    assert live_counts == [None, None]  # the second layer (too many live), the first (too narrow)

    with torch.no_grad():
        network[2].bias[::2] = -1e3
    live_counts.clear()
    unasked = HandMLP.build(network, gradient_of=optimizer.gradient_of("torch"), backend="torch")
    assert unasked is not None
    unasked.forward(batch, keep=True)
    unasked.backward(output_gradient)
    assert live_counts == []  # without skip_dead_units (SAC's networks), no check


def test_an_ensembles_mirror_leaves_each_members_dead_units_out_but_not_of_a_shared_input_layer():
    """TD3's twin critics as one EnsembleMLP: dead units member by member (different
    ones in each), and a first layer wide enough to qualify whose input [B, in] both members
    share, where the products stay whole; gradients and dLoss/dInput as autograd's."""
    from zoo.hand_mlp import HandMLP, TorchOps
    from zoo.optim import ClippedAdam

    torch.manual_seed(0)
    ensemble = EnsembleMLP(2, 70, 1, [96, 80])
    with torch.no_grad():
        ensemble.biases[0][:, 0, ::3] = -1e3  # the first layer: a third dead in each member
        ensemble.biases[1][0, 0, ::2] = -1e3  # the second layer: member 0 half dead,
        ensemble.biases[1][1, 0, :50] = -1e3  # member 1 50 of 80
    optimizer = ClippedAdam(list(ensemble.parameters()), 1e-3)
    mirror = HandMLP.from_ensemble(ensemble, gradient_of=optimizer.gradient_of("torch"), backend="torch",
                                   skip_dead_units=True)
    assert mirror is not None
    inputs, output_gradient = torch.randn(32, 70, requires_grad=True), torch.randn(2, 32, 1)
    (ensemble(inputs) * output_gradient).sum().backward()
    mirror.forward(inputs.detach(), keep=True)
    first_activation, second_activation = mirror._kept[1], mirror._kept[3]
    assert TorchOps.live_outputs(first_activation, inputs, mirror.layers[0]) is None  # shared input
    live = TorchOps.live_outputs(second_activation, first_activation, mirror.layers[2])
    assert 0 < len(live[0]) <= 40 and 0 < len(live[1]) <= 30  # a few more dead by chance
    input_gradient = mirror.backward_to_input(output_gradient)
    for gradient, parameter in zip(optimizer.torch_gradients(), ensemble.parameters()):
        torch.testing.assert_close(gradient, parameter.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(input_gradient, inputs.grad, rtol=1e-5, atol=1e-6)


def test_sac_explores_in_numpy_as_its_torch_sampler_would():
    """SAC's exploring action (numpy, the agent's generator): tanh(mean + std * noise) of the
    torch actor's own mean and clamped log-std, for that noise, rescaled to the env's bounds."""
    import copy

    space = gym.spaces.Box(np.array([-2.0], np.float32), np.array([1.0], np.float32))
    agent = SACAgent(OBS, space, SACConfig(net_arch=[16, 16]), seed=0)
    assert agent.exploring is not None
    observation = np.array([0.3, -1.2, 0.7], np.float32)

    def torch_sample(noise: float) -> np.ndarray:
        actor = agent.squashed_actor()
        with torch.no_grad():
            features = actor.torso(torch.from_numpy(observation)[None])
            mean, log_std = actor.mean_head(features), actor.log_std_head(features).clamp(LOG_STD_MIN, LOG_STD_MAX)
            return agent.box_actions().to_env(torch.tanh(mean[0] + log_std[0].exp() * noise).numpy())

    generator = copy.deepcopy(agent.np_random)
    action = agent.take_action(observation)
    np.testing.assert_allclose(action, torch_sample(float(generator.standard_normal())), rtol=1e-5, atol=1e-6)
    assert space.contains(action)
    assert not np.array_equal(agent.take_action(observation), action)  # a fresh draw each step

    class SmallNoise:  # a noise that tells a clamped std (e^2) from an unclamped one (e^5)
        def standard_normal(self, shape):
            return np.full(shape, 0.05)

    with torch.no_grad():
        agent.squashed_actor().log_std_head.bias.fill_(5.0)
        agent.squashed_actor().log_std_head.weight.zero_()
    agent.np_random = SmallNoise()
    np.testing.assert_allclose(agent.take_action(observation), torch_sample(0.05), rtol=1e-5, atol=1e-6)


def test_sac_follows_a_linear_learning_rate_schedule_and_resumes_it(tmp_path):
    """RL Zoo's lin_<start> for SAC's step size (actor, critics and temperature alike): start x
    the remaining fraction of n_timesteps at every update; a checkpoint resumed with a larger
    budget goes on from where the schedule stood; a bad value is one error naming the key."""
    from zoo.config import resolve_hyperparams
    from zoo.errors import ZooError
    from zoo.registry import get_algo

    space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    named = {"algo": "sac", "env_id": "Pendulum-v1", "seed": 0}
    agent = SACAgent(OBS, space, SACConfig(net_arch=[8], learning_rate="lin_1e-3", n_timesteps=1000), **named)
    optimizers = (agent.actor_optimizer, agent.critic_optimizer, agent.alpha_optimizer)
    assert all(optimizer.lr == pytest.approx(1e-3) for optimizer in optimizers)
    batch = _replay_batch(0)
    agent.on_step(250)
    assert agent.update(batch)["learning_rate"] == pytest.approx(7.5e-4)  # logged, as PPO's
    assert all(optimizer.lr == pytest.approx(7.5e-4) for optimizer in optimizers)
    agent.on_step(600)
    agent.update(batch)
    assert all(optimizer.lr == pytest.approx(4e-4) for optimizer in optimizers)
    constant = SACAgent(OBS, space, SACConfig(net_arch=[8], learning_rate=1e-3, n_timesteps=1000), **named)
    constant.on_step(600)
    assert "learning_rate" not in constant.update(batch)  # a constant's runs log as before
    assert constant.critic_optimizer.lr == 1e-3

    agent.num_timesteps = 600
    path = agent.save(tmp_path / "model.zip")
    resumed = SACAgent(OBS, space, SACConfig(net_arch=[8], learning_rate="lin_1e-3", n_timesteps=2000), **named)
    resumed.load(path)
    assert resumed.clock.anchor == (600, pytest.approx(0.4))
    resumed.on_step(1300)  # halfway from 600 to the new end: half of the 4e-4 it had reached
    resumed.update(batch)
    assert resumed.critic_optimizer.lr == pytest.approx(2e-4)
    same_budget = SACAgent(OBS, space, SACConfig(net_arch=[8], learning_rate="lin_1e-3", n_timesteps=1000), **named)
    assert same_budget.load(path).clock.anchor == (0, 1.0)

    with pytest.raises(ZooError, match="learning_rate must be a number or 'lin_<number>'"):
        resolve_hyperparams(get_algo("sac"), "Pendulum-v1", {"learning_rate": "lin_fast"})
    with pytest.raises(ZooError, match=r"'learning_rate' must be in \(0, 1\], got 'lin_-1e-3'"):
        resolve_hyperparams(get_algo("sac"), "Pendulum-v1", {"learning_rate": "lin_-1e-3"})


# -- SAC with gSDE --------------------------------------------------------------------

def _sde_sac(**config) -> SACAgent:
    agent = SACAgent(OBS, gym.spaces.Box(-2.0, 2.0, (2,), np.float32),
                     SACConfig(net_arch=[8], use_sde=True, **config), seed=0)
    with torch.no_grad():  # each (feature, action) pair its own sigma, so that every one counts
        agent.squashed_actor().log_std.copy_(torch.randn(8, 2) * 0.3 - 1.0)
    return agent


def test_sac_gsde_samples_scores_and_trains_as_sb3s_sac_actor():
    """gSDE's sample in SAC, against SB3's StateDependentNoiseDistribution as its SAC actor uses
    it (squashed, learn_features, the mean clipped to +-2, E = sigma * N(0, 1)): the same
    actions and log-probabilities for the same E, and the same gradients of an actor loss on
    the log std and on the torso (which learns through the noise: fails with z detached)."""
    pytest.importorskip("stable_baselines3", reason="Stable-Baselines3 is not installed (extra: benchmark)")
    from stable_baselines3.common.distributions import StateDependentNoiseDistribution

    agent = _sde_sac()
    actor = agent.squashed_actor()
    with torch.no_grad():
        actor.mean_head.bias.copy_(torch.tensor([2.5, -0.3]))  # one mean beyond the clip on some rows
    observations = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (6, 3)).astype(np.float32))
    noise = torch.randn(8, 2)

    def ours():
        actor.zero_grad()
        actions, log_probs = actor.sample(observations, noise)
        (0.1 * log_probs - actions.sum(-1)).mean().backward()
        return actions, log_probs, [p.grad.clone() for p in (actor.log_std, *actor.torso.parameters())]

    def sb3s():
        actor.zero_grad()
        features = actor.torso(observations)
        mean = torch.nn.functional.hardtanh(actor.mean_head(features), -2.0, 2.0)
        distribution = StateDependentNoiseDistribution(2, learn_features=True, squash_output=True)
        distribution.sample_weights(actor.log_std)
        distribution.exploration_mat = actor.log_std.exp() * noise  # their rsample, with our draw
        actions, log_probs = distribution.log_prob_from_params(mean, actor.log_std, features)
        (0.1 * log_probs - actions.sum(-1)).mean().backward()
        return actions, log_probs, [p.grad.clone() for p in (actor.log_std, *actor.torso.parameters())]

    (our_actions, our_log_probs, our_gradients), (their_actions, their_log_probs, their_gradients) = ours(), sb3s()
    torch.testing.assert_close(our_actions, their_actions)
    # SB3 scores at atanh(tanh(u)), we at u: equal up to float32 rounding through tanh
    torch.testing.assert_close(our_log_probs, their_log_probs, rtol=1e-4, atol=1e-4)
    for our_gradient, their_gradient in zip(our_gradients, their_gradients):
        assert our_gradient.abs().sum() > 0
        torch.testing.assert_close(our_gradient, their_gradient, rtol=1e-3, atol=1e-5)


def test_sac_gsde_scores_the_squashed_state_dependent_gaussian_and_trains_through_its_noise():
    agent = _sde_sac()
    actor = agent.squashed_actor()
    observations = torch.from_numpy(np.random.default_rng(1).uniform(-1, 1, (5, 3)).astype(np.float32))
    noise = torch.randn(8, 2)
    with torch.no_grad():
        actions, log_probs = actor.sample(observations, noise)
        features = actor.torso(observations)
        mean = actor.mean_head(features).clamp(-2.0, 2.0)
        sigma = actor.log_std.exp()
        pre_tanh = mean + features @ (sigma * noise)
        gaussian = torch.distributions.Normal(mean, torch.sqrt(features**2 @ sigma**2 + 1e-6))
        expected = (gaussian.log_prob(pre_tanh) - torch.log(1 - torch.tanh(pre_tanh) ** 2 + 1e-6)).sum(-1)
    torch.testing.assert_close(actions, torch.tanh(pre_tanh))
    torch.testing.assert_close(log_probs, expected)
    # The action alone reaches sigma through E, and with the mean head cut off from the torso,
    # the torso only through z(s) in the noise (SB3's learn_features for SAC)
    with torch.no_grad():
        actor.mean_head.weight.zero_()
    actor.sample(observations, noise)[0].sum().backward()
    assert actor.log_std.grad is not None and actor.log_std.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in actor.torso.parameters())


def test_sac_gsde_holds_its_exploration_matrix_for_a_collection_or_sde_sample_freq_steps():
    """While acting, E is drawn at the start of every collection of train_freq steps (or
    episodes) and every sde_sample_freq steps into one (SB3's collect_rollouts), and the numpy
    action is the torch
    actor's tanh(clip(mu(s)) + z(s) @ E) for it."""
    observation = np.array([0.3, -0.8, 0.5], np.float32)

    def actions(agent: SACAgent, steps: int, collections_end: tuple[int, ...] = ()) -> list[np.ndarray]:
        """As the off-policy loop calls the hooks: collections end every train_freq steps, or at
        the steps given (train_freq in episodes)."""
        taken = []
        every, unit = agent.config.train_every
        for step in range(1, steps + 1):
            taken.append(agent.take_action(observation))
            agent.on_step(step)
            if step in collections_end or (unit == "step" and step % every == 0):
                agent.on_collection_end()
        return taken

    def changes(taken: list[np.ndarray]) -> list[int]:
        return [i for i in range(1, len(taken)) if not np.array_equal(taken[i], taken[i - 1])]

    assert changes(actions(_sde_sac(train_freq=4), 12)) == [4, 8]
    assert changes(actions(_sde_sac(train_freq=4, sde_sample_freq=2), 12)) == [2, 4, 6, 8, 10]
    assert changes(actions(_sde_sac(train_freq=3, sde_sample_freq=2), 9)) == [2, 3, 5, 6, 8]  # counted per collection
    # train_freq in episodes: a collection ends with its episodes (here after steps 5 and 7)
    by_episode = _sde_sac(train_freq=[1, "episode"], sde_sample_freq=2)
    assert changes(actions(by_episode, 10, collections_end=(5, 7))) == [2, 4, 5, 7, 9]

    agent = _sde_sac()
    assert agent.exploring is not None
    action = agent.take_action(observation)
    with torch.no_grad():
        matrix = agent.exploration_matrix
        assert matrix is not None
        expected = agent.squashed_actor().explore_with(torch.from_numpy(observation)[None], matrix)[0].numpy()
    np.testing.assert_allclose(action, agent.box_actions().to_env(expected), rtol=1e-5, atol=1e-6)


def test_sac_gsde_acts_greedily_on_the_clipped_mean():
    agent = _sde_sac()
    with torch.no_grad():
        agent.squashed_actor().mean_head.weight.zero_()
        agent.squashed_actor().mean_head.bias.copy_(torch.tensor([10.0, -0.5]))
    expected = agent.box_actions().to_env(np.tanh(np.array([2.0, -0.5], np.float32)))  # SB3's clip_mean: 2
    observation = np.zeros(3, np.float32)
    np.testing.assert_allclose(agent.take_action(observation, deterministic=True), expected, rtol=1e-6)
    np.testing.assert_allclose(agent.greedy_actions(observation[None])[0], expected, rtol=1e-6)
    agent.greedy = None  # the torch path (a GPU's) clips alike
    np.testing.assert_allclose(agent.take_action(observation, deterministic=True), expected, rtol=1e-6)


def test_sac_gsde_is_refused_for_discrete_actions_and_a_bad_sample_freq():
    from zoo.config import resolve_hyperparams
    from zoo.errors import ZooError
    from zoo.registry import get_algo

    with pytest.raises(ZooError, match="sde_sample_freq must be -1"):
        resolve_hyperparams(get_algo("sac"), "Pendulum-v1", {"use_sde": True, "sde_sample_freq": -2})
    with pytest.raises(ZooError, match=r"'use_sde' \(gSDE\) is for Box actions; this env's actions are Discrete\(2\)"):
        train("sac", "CartPole-v1", n_timesteps=64, overrides={"use_sde": True})


def test_sac_gsde_trains_saves_loads_and_reproduces(tmp_path):
    overrides = {"use_sde": True, "sde_sample_freq": 8, "net_arch": [16], "learning_starts": 100, "eval_freq": 0,
                 "stop_at_return": None, "batch_size": 64}
    result = train("sac", "Pendulum-v1", seed=0, n_timesteps=400, overrides=overrides, out_dir=tmp_path)
    assert result.agent.hand_networks is not None and result.agent.n_updates > 0  # gSDE's update by hand too
    assert tuple(result.agent.squashed_actor().log_std.shape) == (16, 1)
    loaded = load_agent(result.checkpoint)
    for name, array in result.agent.state_arrays().items():
        np.testing.assert_array_equal(loaded.state_arrays()[name], array)
    again = train("sac", "Pendulum-v1", seed=0, n_timesteps=400, overrides=overrides, out_dir=tmp_path)
    for name, array in result.agent.state_arrays().items():
        np.testing.assert_array_equal(again.agent.state_arrays()[name], array)  # same seed, same numbers


def test_sac_use_sde_at_warmup_explores_the_warm_up_steps_with_the_policy(tmp_path):
    """SB3's use_sde_at_warmup: the learning_starts steps take gSDE's exploring actions (a
    small log std: close to the policy's mean) instead of uniform ones over [-2, 2]; refused
    without use_sde (SB3 would ignore it)."""
    from zoo.errors import ZooError
    from zoo.files import read_arrays

    overrides = {"use_sde": True, "log_std_init": -4.0, "learning_starts": 300, "eval_freq": 0,
                 "stop_at_return": None, "save_replay_buffer": True, "net_arch": [16]}
    off_policy = {}  # how far the warm-up actions were from the (never updated) policy's greedy ones
    for at_warmup in (False, True):
        result = train("sac", "Pendulum-v1", seed=0, n_timesteps=300, out_dir=tmp_path,
                       overrides={**overrides, "use_sde_at_warmup": at_warmup})
        assert result.agent.n_updates == 0
        replay = read_arrays(result.run_dir / "replay_buffer.npz", "a replay buffer")
        greedy = result.agent.greedy_actions(replay["observations"])
        off_policy[at_warmup] = float(np.abs(replay["actions"] - greedy).mean())
    assert off_policy[False] > 0.8 and off_policy[True] < 0.2, off_policy
    with pytest.raises(ZooError, match="use_sde_at_warmup .* needs use_sde: true"):
        train("sac", "Pendulum-v1", n_timesteps=64, out_dir=tmp_path, overrides={"use_sde_at_warmup": True})


@pytest.mark.slow
def test_sac_gsde_solves_mountain_car_on_the_shipped_entry(tmp_path):
    """The shipped MountainCarContinuous entry (RL Zoo's, gSDE) reaches the goal: without gSDE
    SAC stands still (best evaluation -0.00, measured); solved is 90."""
    result = train("sac", "MountainCarContinuous-v0", seed=0, out_dir=tmp_path)
    evaluation = evaluate_agent(result.agent, result.env, 10, seed=123)
    assert evaluation.mean >= 90, (result.summary, evaluation.returns)
