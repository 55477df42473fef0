"""What several test files share: an agent of any algo that has learned a little, built and fed
through the library's public parts (no private loop class), and a CartPole with Dict observations."""

import gymnasium as gym
import numpy as np

import envs
from zoo.build import build_agent, describe_env
from zoo.config import resolve_hyperparams
from zoo.loops.monitor import TrainingMonitor
from zoo.loops.on_policy import RolloutCollector
from zoo.planning import model_of
from zoo.registry import ALGOS

gym.register_envs(envs)

FLAGSHIP_ENV = {"bandit": "BernoulliBandit-v0", "planning": "CliffWalking4x12-v0", "off_policy": "CartPole-v1",
                "on_policy": "CartPole-v1"}
FLAGSHIP_ENV_OF_ALGO = {"sac": "Pendulum-v1", "ddpg": "Pendulum-v1", "td3": "Pendulum-v1",
                        "vision_dqn": "CliffWalking4x12-v0"}


def flagship_env(algo):
    return FLAGSHIP_ENV_OF_ALGO.get(algo, FLAGSHIP_ENV[ALGOS[algo].family])


def new_agent(algo, seed=0, device="cpu", env_id=None, overrides=None):
    """A fresh agent of `algo` and its env (the one training would make: pixels for vision agents)."""
    spec = ALGOS[algo]
    env_id = env_id or flagship_env(algo)
    resolved = resolve_hyperparams(spec, env_id, overrides)
    description = describe_env(spec, env_id, resolved.env_kwargs, resolved.env_wrappers, resolved.config)
    env = description.make()
    agent = build_agent(spec, env.observation_space, env.action_space, resolved.config, description, seed=seed,
                        device=device)
    return agent, env, description


def quiet_monitor(agent):
    """A monitor that evaluates nothing and tells no callback: for driving a collector by hand."""
    return TrainingMonitor(agent, agent.config, None, [], seed=None)


def trained_agent(algo, seed=0, device="cpu"):
    """A freshly made agent of `algo` that has learned something on its flagship env."""
    agent, env, description = new_agent(algo, seed, device)
    family = ALGOS[algo].family
    if family == "bandit":
        observation, _ = env.reset(seed=seed)
        for _ in range(300):
            action = agent.take_action(observation)
            observation, reward, *_ = env.step(action)
            metrics = agent.update(action, reward)
    elif family == "planning":
        metrics = agent.update(model_of(env))
    elif family == "on_policy":
        envs_ = description.make_vector(agent.config.n_envs)
        collector = RolloutCollector(agent, envs_, quiet_monitor(agent), seed=seed)
        for _ in range(3):
            metrics = agent.update(collector.collect(agent.config.n_steps))
        envs_.close()
    else:
        buffer = agent.make_replay_buffer(500, seed)
        observation, _ = env.reset(seed=seed)
        for action in agent.random_actions(500):
            next_observation, reward, terminated, truncated, _ = env.step(action)
            buffer.add(observation, action, reward, next_observation, terminated, truncated)
            observation = env.reset()[0] if terminated or truncated else next_observation
        for step in range(1, 21):
            metrics = agent.update(buffer.sample(32))
            agent.on_step(step)
    assert isinstance(metrics, dict) and all(isinstance(v, float | int) for v in metrics.values())
    return agent, env


class DictCartPole(gym.ObservationWrapper):
    """CartPole observing {'cart': [x, v], 'pole': [angle, angular velocity]}."""

    def __init__(self, **kwargs):
        super().__init__(gym.make("CartPole-v1", **kwargs))
        box = self.env.observation_space
        self.observation_space = gym.spaces.Dict({
            "cart": gym.spaces.Box(box.low[:2], box.high[:2], dtype=np.float32),
            "pole": gym.spaces.Box(box.low[2:], box.high[2:], dtype=np.float32)})

    def observation(self, observation):
        return {"cart": observation[:2], "pole": observation[2:]}
