"""DQN, Double DQN and Dueling DQN: targets by hand, the shared parts, and learning."""

import signal

import gymnasium as gym
import numpy as np
import pytest
import torch

from helpers import new_agent
from zoo.agents.dqn import DQNAgent, DQNConfig, QNetwork
from zoo.build import load_agent
from zoo.contracts import Batch
from zoo.evaluation import evaluate_agent
from zoo.replay_buffer import ReplayBuffer
from zoo.train import train

OBS = gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
ACTIONS = gym.spaces.Discrete(2)


def linear_agent(online_weight, target_weight, **config):
    """An agent whose Q-networks are one linear layer with the given weights and zero bias."""
    agent = DQNAgent(OBS, ACTIONS, DQNConfig(net_arch=[], gamma=0.5, **config), seed=0)
    for network, weight in ((agent.q_network, online_weight), (agent.target_q_network, target_weight)):
        with torch.no_grad():
            network.q_head.weight.copy_(torch.tensor(weight, dtype=torch.float32))
            network.q_head.bias.zero_()
    return agent


def batch(next_observations, rewards, terminated):
    n = len(rewards)
    return Batch(
        observations=torch.zeros(n, 2), actions=torch.zeros(n, dtype=torch.int64),
        rewards=torch.tensor(rewards, dtype=torch.float32),
        next_observations=torch.tensor(next_observations, dtype=torch.float32),
        terminated=torch.tensor(terminated, dtype=torch.float32),
    )


def test_dqn_target_is_reward_plus_discounted_max_of_the_target_network():
    # target Q(s') = [s'0 + s'1, 2 s'0]; online Q is different and must not matter.
    agent = linear_agent(online_weight=[[0, 1], [1, 0]], target_weight=[[1, 1], [2, 0]])
    targets = agent.td_target(batch([[1.0, 2.0], [3.0, -5.0]], rewards=[1.0, -1.0], terminated=[0, 0]))
    # s'=(1,2): max(3, 2) = 3 -> 1 + 0.5 * 3;  s'=(3,-5): max(-2, 6) = 6 -> -1 + 0.5 * 6
    np.testing.assert_allclose(targets.numpy(), [2.5, 2.0])


def test_double_dqn_target_lets_the_online_network_pick_and_the_target_network_value():
    agent = linear_agent(online_weight=[[0, 1], [1, 0]], target_weight=[[1, 1], [2, 0]], double=True)
    targets = agent.td_target(batch([[1.0, 2.0], [3.0, -5.0]], rewards=[1.0, -1.0], terminated=[0, 0]))
    # s'=(1,2): online Q = [2, 1] picks a=0, target values it 3 -> 2.5
    # s'=(3,-5): online Q = [-5, 3] picks a=1, target values it 6 -> 2.0
    np.testing.assert_allclose(targets.numpy(), [2.5, 2.0])


def test_double_and_plain_dqn_differ_exactly_where_the_networks_disagree():
    online, target = [[1, 0], [0, 1]], [[0, 1], [1, 0]]  # online picks the larger coordinate
    plain = linear_agent(online, target).td_target(batch([[3.0, 1.0]], [0.0], [0]))
    double = linear_agent(online, target, double=True).td_target(batch([[3.0, 1.0]], [0.0], [0]))
    # target Q(s') = [1, 3]: plain takes max = 3; online Q = [3, 1] picks a=0, valued 1
    np.testing.assert_allclose(plain.numpy(), [1.5])
    np.testing.assert_allclose(double.numpy(), [0.5])


def test_terminated_transitions_do_not_bootstrap_but_truncated_ones_do():
    buffer = ReplayBuffer(4, (2,), (), np.float32, np.int64, seed=0)
    buffer.add([0, 0], 0, 1.0, [1.0, 1.0], terminated=True, truncated=False)
    buffer.add([0, 0], 0, 1.0, [1.0, 1.0], terminated=False, truncated=True)
    agent = linear_agent(online_weight=[[1, 1], [0, 0]], target_weight=[[1, 1], [0, 0]])
    sampled = buffer.sample(64)
    targets = agent.td_target(sampled).numpy()
    was_terminal = sampled.terminated.numpy() == 1
    assert was_terminal.any() and (~was_terminal).any()
    np.testing.assert_allclose(targets[was_terminal], 1.0)  # r only
    np.testing.assert_allclose(targets[~was_terminal], 1.0 + 0.5 * 2.0)  # r + gamma * max Q(s')


def test_dueling_head_aggregates_value_plus_centred_advantage():
    network = QNetwork(2, 3, DQNConfig(net_arch=[], dueling=True))
    with torch.no_grad():
        network.value_head.weight.copy_(torch.tensor([[1.0, 0.0]]))
        network.value_head.bias.fill_(0.5)
        network.advantage_head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        network.advantage_head.bias.zero_()
    q = network(torch.tensor([[2.0, 4.0]])).detach().numpy()[0]
    value, advantages = 2.0 + 0.5, np.array([2.0, 4.0, 6.0])
    np.testing.assert_allclose(q, value + advantages - advantages.mean())


def test_replay_buffer_wraps_around_and_samples_only_what_it_holds():
    buffer = ReplayBuffer(3, (1,), (), np.float32, np.int64, seed=0)
    for i in range(5):
        buffer.add([i], i, float(i), [i + 1], False, False)
    assert len(buffer) == 3
    assert set(buffer.sample(200).actions.tolist()) == {2, 3, 4}
    np.testing.assert_array_equal(buffer.state_arrays()["actions"], [2, 3, 4])  # oldest first
    sampled = buffer.sample(8)
    np.testing.assert_array_equal(sampled.next_observations[:, 0].numpy(), sampled.actions.numpy() + 1)


def test_epsilon_decays_linearly_then_holds_and_the_target_follows_on_schedule():
    agent = DQNAgent(OBS, ACTIONS, DQNConfig(n_timesteps=1000, exploration_fraction=0.5,
                                             exploration_final_eps=0.1, target_update_interval=100), seed=0)
    agent.on_step(250)
    assert agent.exploration_rate == pytest.approx(1.0 - 0.9 * 0.5)
    agent.on_step(900)
    assert agent.exploration_rate == pytest.approx(0.1)
    with torch.no_grad():
        next(agent.q_network.parameters()).add_(1.0)
    online, target = (next(n.parameters()) for n in (agent.q_network, agent.target_q_network))
    agent.on_step(901)
    assert not torch.equal(online, target)
    agent.on_step(1000)
    assert torch.equal(online, target)


def test_soft_target_update_moves_by_tau():
    agent = DQNAgent(OBS, ACTIONS, DQNConfig(tau=0.25), seed=0)
    with torch.no_grad():
        for p in agent.q_network.parameters():
            p.fill_(1.0)
        for p in agent.target_q_network.parameters():
            p.fill_(0.0)
    agent.update_target()
    assert all(torch.allclose(p, torch.full_like(p, 0.25)) for p in agent.target_q_network.parameters())


def test_wrong_observation_shape_is_a_clear_error():
    from zoo.errors import ZooError

    agent = DQNAgent(OBS, ACTIONS, DQNConfig(), seed=0)
    with pytest.raises(ZooError, match="observation of shape \\(3,\\)"):
        agent.take_action(np.zeros(3), deterministic=True)


# The shipped CartPole-v1 entry's schedule with a smaller budget: learns in seconds.
FAST_CARTPOLE = {
    "n_timesteps": 30_000, "learning_rate": 2.3e-3, "batch_size": 64, "buffer_size": 30_000,
    "learning_starts": 1000, "gamma": 0.98, "train_freq": 256, "gradient_steps": 64,
    "target_update_interval": 10, "exploration_fraction": 0.16, "exploration_final_eps": 0.04,
    "net_arch": [128, 128], "eval_freq": 0, "stop_at_return": None,
}


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["dqn", "double_dqn", "dueling_dqn"])
def test_each_variant_learns_cartpole_within_seconds(algo, tmp_path):
    # Stop as soon as an evaluation passes 300: the test then checks, on episodes it has not
    # seen, that the policy is far beyond random (a uniformly random policy averages ~22).
    result = train(algo, "CartPole-v1", seed=0, out_dir=tmp_path, overrides={
        **FAST_CARTPOLE, "eval_freq": 2000, "n_eval_episodes": 5, "stop_at_return": 300})
    evaluation = evaluate_agent(result.agent, result.env, 10, seed=123)
    assert evaluation.mean >= 150, (result.summary, evaluation.returns)


def test_interrupted_run_leaves_a_loadable_checkpoint(tmp_path, monkeypatch):
    update = DQNAgent.update

    def update_then_ctrl_c(self, batch):
        metrics = update(self, batch)
        if self.n_updates == 50:
            signal.raise_signal(signal.SIGINT)
        return metrics

    monkeypatch.setattr(DQNAgent, "update", update_then_ctrl_c)
    one_update_every_2_steps = {"learning_starts": 500, "train_freq": 2, "gradient_steps": 1}
    result = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path,
                   overrides={**FAST_CARTPOLE, **one_update_every_2_steps, "n_timesteps": 5000})
    # The 50th update runs at env step 500 + 50 * 2; the loop stops right after that step.
    assert result.interrupted and result.summary["steps"] == 600
    loaded = load_agent(result.checkpoint, algo="dqn", env_id="CartPole-v1")
    assert loaded.n_updates == 50
    observation = np.array([0.01, -0.02, 0.03, 0.04], dtype=np.float32)
    assert loaded.take_action(observation, deterministic=True) == result.agent.take_action(observation, True)


def test_run_writes_episode_and_evaluation_logs_and_keeps_the_best_checkpoint(tmp_path):
    result = train("dqn", "CartPole-v1", seed=1, out_dir=tmp_path,
                   overrides={**FAST_CARTPOLE, "n_timesteps": 2000, "eval_freq": 1000, "n_eval_episodes": 2})
    episodes = (result.run_dir / "progress.csv").read_text().splitlines()
    evaluations = (result.run_dir / "evaluations.csv").read_text().splitlines()
    assert episodes[0] == "step,episode,return,length,loss,time" and len(episodes) > 10
    assert evaluations[0].startswith("step,mean_return") and len(evaluations) == 3
    assert load_agent(result.run_dir / "best_model.zip").algo == "dqn"


def test_same_seed_same_numbers(tmp_path):
    runs = [train("double_dqn", "CartPole-v1", seed=4, out_dir=tmp_path,
                  overrides={**FAST_CARTPOLE, "n_timesteps": 1500}) for _ in range(2)]
    logs = [(r.run_dir / "progress.csv").read_text().splitlines() for r in runs]
    strip_time = [[line.rsplit(",", 1)[0] for line in log] for log in logs]
    assert strip_time[0] == strip_time[1]
    for a, b in zip(runs[0].agent.q_network.parameters(), runs[1].agent.q_network.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu", "leaky_relu", "silu"])
@pytest.mark.parametrize("dueling", [False, True])
def test_numpy_greedy_path_agrees_with_the_torch_network_and_follows_training(activation, dueling):
    agent = DQNAgent(gym.spaces.Box(-5, 5, (6,), np.float32), gym.spaces.Discrete(5),
                     DQNConfig(net_arch=[32, 32], activation=activation, dueling=dueling), seed=0)
    assert agent.greedy_scores is not None
    observations = np.random.default_rng(0).normal(size=(200, 6)).astype(np.float32)

    def torch_greedy():
        with torch.no_grad():
            return agent.q_network(torch.from_numpy(observations)).argmax(dim=1).tolist()

    assert [agent.take_action(o, deterministic=True) for o in observations] == torch_greedy()
    with torch.no_grad():  # an in-place change, as an optimizer step makes, is seen at once
        for p in agent.q_network.parameters():
            p.mul_(-1.5).add_(0.1)
    assert [agent.take_action(o, deterministic=True) for o in observations] == torch_greedy()


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "MountainCar-v0", "LunarLander-v3"])
def test_shipped_entries_for_the_other_envs_run(env_id, tmp_path):
    if env_id.startswith("LunarLander"):
        pytest.importorskip("Box2D")  # the box2d extra; the test extra installs it
    result = train("dqn", env_id, seed=0, n_timesteps=300, out_dir=tmp_path,
                   overrides={"learning_starts": 100, "eval_freq": 0})
    assert result.summary["steps"] == 300 and result.agent.n_updates > 0


@pytest.mark.parametrize("variant", [
    {}, {"double": True}, {"dueling": True}, {"double": True, "dueling": True},
    {"activation": "tanh", "loss": "mse"}, {"max_grad_norm": 0.05}, {"max_grad_norm": 0.0, "net_arch": [16]},
])
def test_the_numpy_update_is_the_autograd_update(variant):
    """DQN's update runs in numpy where numpy mirrors the network (zoo/hand_mlp.py); it must
    be the plain PyTorch update: same loss, weights and Adam state, update after update."""
    config = DQNConfig(**{"net_arch": [32, 32], "learning_rate": 3e-3, "gamma": 0.9, **variant})
    space = gym.spaces.Box(-5, 5, (6,), np.float32)
    in_numpy, with_autograd = (DQNAgent(space, gym.spaces.Discrete(3), config, seed=0) for _ in range(2))
    assert in_numpy.numpy_q_network is not None
    rng = np.random.default_rng(1)  # the target network stays at the initial weights: Double DQN's pick matters
    for _ in range(4):
        n = 40
        transitions = Batch(
            observations=torch.from_numpy(rng.normal(size=(n, 6)).astype(np.float32) * 3),
            actions=torch.from_numpy(rng.integers(3, size=n)),
            rewards=torch.from_numpy(rng.normal(size=n).astype(np.float32) * 4),
            next_observations=torch.from_numpy(rng.normal(size=(n, 6)).astype(np.float32) * 3),
            terminated=torch.from_numpy((rng.random(n) < 0.3).astype(np.float32)))
        ours, reference = in_numpy.update_in_numpy(transitions), with_autograd.update_with_autograd(transitions)
        assert ours["loss"] == pytest.approx(reference["loss"], rel=1e-5)
        expected = with_autograd.state_arrays()
        for name, value in in_numpy.state_arrays().items():
            np.testing.assert_allclose(value, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_networks_numpy_cannot_mirror_or_would_be_slower_in_learn_with_autograd():
    elu = DQNAgent(OBS, ACTIONS, DQNConfig(net_arch=[8], activation="elu"), seed=0)
    vision, _, _ = new_agent("vision_dqn")
    large = DQNAgent(OBS, ACTIONS, DQNConfig(net_arch=[400, 300], batch_size=256), seed=0)
    assert DQNAgent(OBS, ACTIONS, DQNConfig(net_arch=[256, 256], batch_size=64), seed=0).numpy_q_network
    for agent in (elu, vision, large):
        assert agent.numpy_q_network is None
    before = [p.detach().clone() for p in elu.q_parameters]
    transitions = batch([[1.0, 2.0], [0.5, -1.0]], [1.0, 0.0], [0.0, 1.0])
    assert np.isfinite(elu.update(transitions)["loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, elu.q_parameters))
