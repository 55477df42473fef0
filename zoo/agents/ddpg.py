"""DDPG (Lillicrap et al. 2016): a deterministic actor mu(s) = tanh(...) and a critic Q(s, a).

    y = r + gamma * (1 - terminated) * Q'(s', mu'(s'))        (target actor and critic)
    critic loss = mean((Q(s, a) - y)^2);   actor loss = -mean(Q(s, mu(s)))
Both targets follow by Polyak averaging (tau) after every update. Exploration adds Gaussian or
Ornstein-Uhlenbeck noise to mu(s) in the policy's [-1, 1] space (the OU process restarts
from zero at every episode end, as SB3's); the loop's warm-up steps (learning_starts) use
uniformly random actions. Actions are rescaled to the env's bounds.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo.action_scaling import BoxActions
from zoo.agent import BaseAgent
from zoo.contracts import Batch, Metrics, OffPolicyConfig, ReplayStore
from zoo.errors import ZooError
from zoo.networks import ActivationName, NumpyForward, mlp, observation_size
from zoo.normalization import ObservationNormalizer
from zoo.optim import ClippedAdam
from zoo.replay_buffer import ReplayBuffer
from zoo.torch_state import load_module_arrays, module_arrays


@dataclass
class DDPGConfig(OffPolicyConfig):
    # Defaults are SB3's DDPG.
    batch_size: int = 256
    train_freq: int = 1
    learning_rate: float = 1e-3  # Adam step size, actor and critic
    tau: float = 0.005  # Polyak averaging of both targets after every update
    noise: Literal["normal", "ornstein_uhlenbeck", "none"] = "normal"  # exploration noise
    noise_std: float = 0.1  # its scale, in the [-1, 1] action space
    noise_theta: float = 0.15  # Ornstein-Uhlenbeck mean reversion
    net_arch: list[int] = field(default_factory=lambda: [400, 300])  # actor and critic each
    activation: ActivationName = "relu"
    normalize_observations: bool = False  # running mean/std of observations (zoo/normalization.py)

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")


class DDPGAgent(BaseAgent):
    algo = "ddpg"
    uses_torch = True

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: DDPGConfig, **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        if isinstance(action_space, gym.spaces.Discrete):
            raise ZooError("ddpg is for continuous actions; for Discrete ones use dqn or sac.")
        self.actions = BoxActions(action_space, self.algo, self.device)
        if not isinstance(observation_space, gym.spaces.Box):
            raise ZooError(f"ddpg needs a Box (vector) observation space, got {observation_space}.")
        if self.seed is not None:
            torch.manual_seed(self.seed)
        self.observation_shape: tuple[int, ...] = tuple(observation_space.shape or ())
        in_features = observation_size(self.observation_shape)
        self.action_dim = self.actions.dim
        self.actor = nn.Sequential(mlp(in_features, self.action_dim, config.net_arch, config.activation),
                                   nn.Tanh()).to(self.device)
        self.critic = mlp(in_features + self.action_dim, 1, config.net_arch, config.activation).to(self.device)
        self.target_actor = copy.deepcopy(self.actor).requires_grad_(False)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.online_parameters: list[torch.Tensor] = [*self.actor.parameters(), *self.critic.parameters()]
        self.target_parameters: list[torch.Tensor] = [*self.target_actor.parameters(),
                                                      *self.target_critic.parameters()]
        self.actor_optimizer = ClippedAdam(list(self.actor.parameters()), config.learning_rate)
        self.critic_optimizer = ClippedAdam(list(self.critic.parameters()), config.learning_rate)
        self.greedy = NumpyForward.build(self.actor[0])  # tanh applied in numpy; None on a GPU
        self.noise_state = np.zeros(self.action_dim, dtype=np.float32)
        self.normalizer = ObservationNormalizer(self.observation_shape) if config.normalize_observations else None
        self.n_updates = 0

    # -- acting ------------------------------------------------------------------------

    def take_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        observation = np.asarray(observation, dtype=np.float32)
        if observation.shape != self.observation_shape:
            raise ZooError(f"ddpg: observation of shape {observation.shape}, "
                           f"this agent takes {self.observation_shape}.")
        if self.normalizer is not None:
            observation = self.normalizer(observation)
        if self.greedy is not None:
            action = np.tanh(self.greedy(observation.reshape(-1)))
        else:
            with torch.inference_mode():
                action = self.actor(torch.from_numpy(observation).reshape(1, -1).to(self.device))[0].cpu().numpy()
        if not deterministic:
            action = np.clip(action + self.exploration_noise(), -1.0, 1.0)
        return self.actions.to_env(action.astype(np.float32))

    def exploration_noise(self) -> np.ndarray:
        config = self.config
        if config.noise == "none":
            return np.zeros(self.action_dim, dtype=np.float32)
        gaussian = self.np_random.normal(0.0, config.noise_std, self.action_dim)
        if config.noise == "normal":
            return gaussian.astype(np.float32)
        # Ornstein-Uhlenbeck, dt = 1: temporally correlated noise that drifts back to zero.
        self.noise_state += -config.noise_theta * self.noise_state + gaussian
        return self.noise_state.copy()

    def random_actions(self, n: int) -> np.ndarray:
        return self.actions.random(n, self.np_random)

    def make_replay_buffer(self, capacity: int, seed: int | None) -> ReplayStore:
        return ReplayBuffer(capacity, self.observation_shape, self.actions.shape, np.float32, np.float32,
                            seed=seed)

    def on_episode_end(self) -> None:
        self.noise_state[:] = 0.0  # Ornstein-Uhlenbeck noise restarts from its mean, as SB3's reset()

    def record_observation(self, observation: np.ndarray) -> None:
        if self.normalizer is not None:
            self.normalizer.update(observation)

    # -- learning ----------------------------------------------------------------------

    def update(self, batch: Batch) -> Metrics:
        batch = batch.to(self.device)
        if self.normalizer is not None:
            batch = dataclasses.replace(batch, observations=self.normalizer.torch(batch.observations),
                                        next_observations=self.normalizer.torch(batch.next_observations))
        actions = self.actions.to_policy(batch.actions)
        with torch.no_grad():
            next_q = self.target_critic(torch.cat([batch.next_observations,
                                                   self.target_actor(batch.next_observations)], 1)).squeeze(-1)
            td_target = batch.rewards + self.config.gamma * (1.0 - batch.terminated) * next_q
        q = self.critic(torch.cat([batch.observations, actions], 1)).squeeze(-1)
        critic_loss = F.mse_loss(q, td_target)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()

        # The actor needs dQ/da only: with the critic's weights out of this graph, backward
        # skips their gradients (measured: ~15% of the update with [400, 300] nets).
        self.critic.requires_grad_(False)
        try:
            actor_loss = -self.critic(torch.cat([batch.observations, self.actor(batch.observations)], 1)).mean()
        finally:
            self.critic.requires_grad_(True)
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(self.target_parameters, self.online_parameters, self.config.tau)
        self.n_updates += 1
        return {"loss": float(critic_loss.detach()), "actor_loss": float(actor_loss.detach())}

    # -- checkpoints -------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {
            **module_arrays("actor", self.actor), **module_arrays("critic", self.critic),
            **module_arrays("target_actor", self.target_actor), **module_arrays("target_critic", self.target_critic),
            **self.actor_optimizer.state_arrays("actor_optimizer"),
            **self.critic_optimizer.state_arrays("critic_optimizer"), "n_updates": np.array(self.n_updates),
            **(self.normalizer.state_arrays("observation_statistics") if self.normalizer else {}),
        }

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for name in ("actor", "critic", "target_actor", "target_critic"):
            load_module_arrays(name, getattr(self, name), arrays)
        for name in ("actor_optimizer", "critic_optimizer"):
            getattr(self, name).load_state_arrays(name, arrays)
        if self.normalizer is not None:
            self.normalizer.load_state_arrays("observation_statistics", arrays)
        self.n_updates = int(arrays.get("n_updates", 0))
