"""REINFORCE (Williams 1992): Monte-Carlo policy gradient.

After each whole episode, with G_t = sum_k gamma^k r_{t+k} computed backwards,
    loss = - sum_t log pi(a_t | s_t) * G_t
in one batched backward pass per episode. `normalize_returns` centres and scales the
episode's returns: far less variance, but not exactly the policy gradient's direction. The
mean and std are of this episode's returns, which depend on the actions they weigh, so the
mean is not a true baseline (one that does not depend on the actions leaves the expected
gradient unchanged) and the estimate is slightly biased, as in most REINFORCE code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from zoo.advantages import discounted_returns
from zoo.agent import BaseAgent
from zoo.contracts import ActionBatch, Metrics, OnPolicyConfig, Rollout
from zoo.networks import ActivationName, InitName
from zoo.optim import ClippedAdam
from zoo.policies import PolicyNetwork
from zoo.torch_state import load_module_arrays, module_arrays


@dataclass
class ReinforceConfig(OnPolicyConfig):
    n_steps: int = 0  # whole episodes: REINFORCE needs complete returns
    gamma: float = 0.98
    learning_rate: float = 1e-3  # Adam step size
    net_arch: list[int] = field(default_factory=lambda: [128])  # hidden widths of the policy
    activation: ActivationName = "relu"
    init: InitName = "default"
    normalize_returns: bool = True  # baseline: standardise each episode's returns
    max_grad_norm: float = 0.0  # gradient-norm clipping (0: none)
    log_std_init: float = 0.0  # Box actions: initial log std of the Gaussian

    def __post_init__(self):
        super().__post_init__()
        if self.n_envs != 1 or self.n_steps != 0:
            raise ValueError("reinforce learns from whole episodes of one env: keep n_envs: 1 and n_steps: 0")


class ReinforceAgent(BaseAgent):
    algo = "reinforce"
    uses_torch = True

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: ReinforceConfig, **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        self.observation_shape: tuple[int, ...] = tuple(observation_space.shape or ())
        if self.seed is not None:
            torch.manual_seed(self.seed)
        self.policy = PolicyNetwork(observation_space, action_space, config.net_arch, config.activation,
                                    config.init, config.log_std_init, self.device, use_sde=config.use_sde,
                                    sde_sample_freq=config.sde_sample_freq)
        self.optimizer = ClippedAdam(list(self.policy.parameters()), config.learning_rate, config.max_grad_norm)
        self.n_updates = 0

    def take_action(self, observation: Any, deterministic: bool = False):
        return self.policy.act(self.checked_observation(observation, self.observation_shape), deterministic)

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        return self.policy.deterministic_batch(self.observation_batch(observations, self.observation_shape))

    def act_batch(self, observations: np.ndarray) -> ActionBatch:
        return self.policy.act_batch(self.observation_batch(observations, self.observation_shape), self.np_random)

    def update(self, rollout: Rollout) -> Metrics:
        self.policy.new_rollout()  # gSDE draws its noise again for the next rollout
        episode_ends = np.maximum(rollout.terminated, rollout.truncated)
        returns = discounted_returns(rollout.rewards, episode_ends, self.config.gamma).reshape(-1)
        if self.config.normalize_returns and len(returns) > 1:
            returns = (returns - returns.mean()) / (returns.std() + 1e-8)
        observations = torch.as_tensor(rollout.observations.reshape(len(returns), -1), device=self.device)
        actions = torch.as_tensor(rollout.actions.reshape(len(returns), *rollout.actions.shape[2:]), device=self.device)
        log_probs, _ = self.policy.log_prob_and_entropy(observations, actions)
        loss = -(log_probs * torch.as_tensor(returns, dtype=torch.float32, device=self.device)).sum()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.n_updates += 1
        return {"loss": float(loss.detach()), "episode_return": float(rollout.rewards.sum())}

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {**module_arrays("policy", self.policy), **self.optimizer.state_arrays("optimizer"),
                "n_updates": np.array(self.n_updates)}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        load_module_arrays("policy", self.policy, arrays)
        self.optimizer.load_state_arrays("optimizer", arrays)
        self.n_updates = int(arrays.get("n_updates", 0))
