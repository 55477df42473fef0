"""Image pipeline, frame replay and the vision DQN."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs
from zoo.agents.vision_dqn import VisionDQNConfig
from zoo.build import env_of
from zoo.config import resolve_hyperparams
from zoo.environments import make_env
from zoo.errors import ZooError
from zoo.registry import get_algo
from zoo.replay_buffer import FrameReplayBuffer
from zoo.vision import ImagePipeline

gym.register_envs(envs)


def test_pixel_pipeline_gives_channel_first_uint8_stacks():
    env = make_env("CliffWalking4x12-v0", {"cell_size": 8}, image_pipeline=ImagePipeline(
        pixels=True, grayscale=True, resize=(16, 48), frame_stack=3))
    assert env.observation_space.shape == (3, 16, 48) and env.observation_space.dtype == np.uint8
    first, _ = env.reset(seed=0)
    assert first.shape == (3, 16, 48) and first.dtype == np.uint8
    assert (first[0] == first[1]).all() and (first[1] == first[2]).all()  # a reset repeats its frame
    second, *_ = env.step(0)  # up: the agent moves, the newest frame changes
    np.testing.assert_array_equal(second[:2], first[1:])
    assert (second[2] != first[2]).any()


def test_rgb_frames_stack_channel_first():
    env = make_env("CliffWalking4x12-v0", {"cell_size": 2}, image_pipeline=ImagePipeline(pixels=True, frame_stack=2))
    observation, _ = env.reset(seed=0)
    assert observation.shape == (6, 8, 24)
    raw = gym.make("CliffWalking4x12-v0", cell_size=2, render_mode="rgb_array")
    raw.reset(seed=0)
    np.testing.assert_array_equal(observation[3:], raw.render().transpose(2, 0, 1))


def test_vector_observations_are_refused_with_a_hint():
    with pytest.raises(ZooError, match="pixels: true"):
        make_env("CartPole-v1", image_pipeline=ImagePipeline())


def collect(env, buffer, steps, seed=0):
    """Random play into `buffer`; returns {(observation, action): [(reward, next, terminated)]}."""
    rng = np.random.default_rng(seed)
    seen: dict = {}
    observation, _ = env.reset(seed=seed)
    for _ in range(steps):
        action = int(rng.integers(4))
        next_observation, reward, terminated, truncated, _ = env.step(action)
        buffer.add(observation, action, reward, next_observation, terminated, truncated)
        seen.setdefault((observation.tobytes(), action), []).append((reward, next_observation.tobytes(), terminated))
        observation = env.reset()[0] if terminated or truncated else next_observation
    return seen


@pytest.mark.parametrize("capacity", [60, 5000], ids=["wrapped", "not-wrapped"])
def test_frame_replay_rebuilds_exactly_the_transitions_played(capacity):
    env = make_env("CliffWalking4x12-v0", {"cell_size": 2}, image_pipeline=ImagePipeline(
        pixels=True, grayscale=True, frame_stack=4))
    buffer = FrameReplayBuffer(capacity, env.observation_space.shape, frame_channels=1, seed=0)
    seen = collect(env, buffer, 600)
    batch = buffer.sample(400)
    assert batch.observations.shape == (400, 4, 8, 24)
    for i in range(400):
        outcomes = seen[(batch.observations[i].numpy().tobytes(), int(batch.actions[i]))]
        assert (float(batch.rewards[i]), batch.next_observations[i].numpy().tobytes(),
                bool(batch.terminated[i])) in outcomes
    assert buffer.terminated.any()  # cliff falls were sampled from too


def test_frame_replay_keeps_each_frame_once():
    buffer = FrameReplayBuffer(100_000, (4, 84, 84), frame_channels=1)
    assert buffer.nbytes < 0.8e9  # s and s' stored whole would take 5.6 GB
    assert buffer.nbytes < 3e9


def test_backbone_options_are_checked_with_the_config():
    with pytest.raises(ValueError, match="no option 'widht'"):
        VisionDQNConfig(backbone="resnet", backbone_options={"widht": 0.5})


@pytest.mark.slow
def test_vision_dqn_learns_the_cliff_from_pixels(tmp_path):
    from zoo.train import train

    result = train("vision_dqn", "CliffWalking4x12-v0", seed=0, out_dir=tmp_path)
    assert result.summary["solved_at"] is not None  # a greedy episode walked the optimal path (-13)
    env = env_of(result.agent).make()
    observation, _ = env.reset(seed=0)
    total = 0.0
    for _ in range(20):
        observation, reward, terminated, truncated, _ = env.step(result.agent.take_action(observation, True))
        total += reward
        if terminated or truncated:
            break
    assert total == -13.0


def test_the_shipped_entry_is_a_pixel_task():
    config = resolve_hyperparams(get_algo("vision_dqn"), "CliffWalking4x12-v0").config
    assert config.image_pipeline.pixels


def test_minatar_breakout_through_our_adapter():
    pytest.importorskip("minatar")
    env = gym.make("MinAtar/Breakout-v1", render_mode="rgb_array")
    observation, _ = env.reset(seed=3)
    assert observation.shape == (10, 10, 4) and observation.dtype == np.uint8
    assert set(np.unique(observation)) <= {0, 255}
    assert env.action_space == gym.spaces.Discrete(3)
    assert env.render().dtype == np.uint8 and env.spec.max_episode_steps is not None

    def play(seed):
        env.reset(seed=seed)
        return [env.step(t % 3)[0].tobytes() for t in range(60)]  # sticky actions draw from the seed too

    assert play(1) == play(1) and play(1) != play(2)


def test_vision_dqn_trains_on_minatar(tmp_path):
    pytest.importorskip("minatar")
    from zoo.train import train

    result = train("vision_dqn", "MinAtar/Breakout-v1", seed=0, n_timesteps=300, out_dir=tmp_path,
                   overrides={"learning_starts": 100, "eval_freq": 0})
    assert result.agent.observation_shape == (4, 10, 10) and result.agent.n_updates == 50


def _agent_for(shape, backbone="lenet", **options):
    from zoo.agents.vision_dqn import VisionDQNAgent

    config = VisionDQNConfig(backbone=backbone, backbone_options=options, learning_starts=0)
    space = gym.spaces.Box(0, 255, shape, dtype=np.uint8)
    return VisionDQNAgent(space, gym.spaces.Discrete(3), config, algo="vision_dqn", env_id="x", seed=0)


@pytest.mark.parametrize("shape, natively", [((4, 10, 10), True), ((3, 4, 12), True), ((4, 84, 84), False)])
def test_small_frames_are_acted_on_with_native_convolutions_and_the_same_actions(shape, natively):
    import torch

    agent = _agent_for(shape)
    seen = []
    agent.q_network.register_forward_pre_hook(lambda module, inputs: seen.append(torch._C._get_mkldnn_enabled()))
    frames = np.random.default_rng(0).integers(0, 256, (50, *shape), dtype=np.uint8)
    actions = [agent.take_action(frame, deterministic=True) for frame in frames]
    assert seen == [not natively] * 50 and torch._C._get_mkldnn_enabled()  # and oneDNN is on again after
    with torch.no_grad():  # the actions oneDNN's convolutions give
        expected = agent.q_network(torch.as_tensor(frames)).argmax(1).tolist()
    assert actions == expected


def test_only_networks_with_batch_norm_or_dropout_switch_modes_for_the_loss():
    import torch

    assert not _agent_for((4, 10, 10)).switches_modes
    assert _agent_for((4, 10, 10), batch_norm=True).switches_modes
    assert _agent_for((4, 10, 10), "alexnet", width=0.25).switches_modes  # dropout
    agent = _agent_for((4, 10, 10), batch_norm=True)
    modes = []
    agent.q_network.register_forward_pre_hook(lambda module, inputs: modes.append(module.training))
    frames = torch.zeros(2, 4, 10, 10, dtype=torch.uint8)
    agent.online_q_values(frames)  # the loss's forward: batch norm learns
    agent.take_action(frames[0].numpy(), deterministic=True)
    assert modes == [True, False] and not agent.q_network.training
