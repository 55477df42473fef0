"""DQN (Mnih et al. 2015), with Double DQN (van Hasselt et al. 2016) and Dueling DQN
(Wang et al. 2016) as config flags that combine.

    td_target = r + gamma * (1 - terminated) * Q_target(s', a*)
      DQN:        a* = argmax_a Q_target(s', a)   (the target net picks and values)
      Double DQN: a* = argmax_a Q_online(s', a)   (the online net picks, the target net values)
    loss = huber(Q_online(s, a), td_target)

    Dueling head: Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')

Only `terminated` stops the bootstrap: a transition cut by a time limit still looks ahead.
The target network follows the online one every `target_update_interval` env steps, by a
hard copy (tau = 1) or Polyak averaging (tau < 1), as in SB3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo.agent import BaseAgent
from zoo.contracts import Batch, Metrics, OffPolicyConfig, ReplayStore
from zoo.errors import ZooError
from zoo.hand_mlp import HandMLP, numpy_is_faster
from zoo.networks import ActivationName, InitName, NumpyForward, init_weights, mlp, observation_size
from zoo.optim import ClippedAdam
from zoo.replay_buffer import ReplayBuffer
from zoo.schedules import Schedule, ScheduleClock, anchor_from_arrays, apply_learning_rate_schedule, parse_schedule
from zoo.torch_state import load_module_arrays, module_arrays


@dataclass
class DQNConfig(OffPolicyConfig):
    # Defaults are SB3's, so that "same hyperparameters" means the same thing in benchmarks.
    learning_rate: Schedule = 1e-4  # Adam step size: a number or lin_<start>
    target_update_interval: int = 10_000  # env steps between target network updates
    tau: float = 1.0  # 1: hard copy; < 1: Polyak averaging at each target update
    exploration_fraction: float = 0.1  # fraction of n_timesteps over which epsilon decays
    exploration_initial_eps: float = 1.0  # epsilon at the start
    exploration_final_eps: float = 0.05  # epsilon after the decay
    max_grad_norm: float = 10.0  # gradient-norm clipping (0: none)
    loss: Literal["huber", "mse"] = "huber"  # TD loss; Huber is robust to large TD errors
    net_arch: list[int] = field(default_factory=lambda: [64, 64])  # hidden widths
    activation: ActivationName = "relu"
    init: InitName = "default"  # weight init scheme (zoo.networks.init_weights)
    double: bool = False  # Double DQN target
    dueling: bool = False  # dueling value/advantage head

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if self.target_update_interval < 1:
            raise ValueError(f"target_update_interval must be at least 1, got {self.target_update_interval}")
        for name in ("exploration_initial_eps", "exploration_final_eps", "exploration_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        parse_schedule(self.learning_rate, "learning_rate")


class QNetwork(nn.Module):
    """MLP torso + a linear Q head, or value and advantage heads when dueling."""

    def __init__(self, in_features: int, n_actions: int, config: DQNConfig):
        super().__init__()
        self.dueling = config.dueling
        self.torso = mlp(in_features, None, config.net_arch, config.activation)
        width = config.net_arch[-1] if config.net_arch else in_features
        if self.dueling:
            self.value_head = nn.Linear(width, 1)
            self.advantage_head = nn.Linear(width, n_actions)
        else:
            self.q_head = nn.Linear(width, n_actions)
        init_weights(self, config.init)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        features = self.torso(observations.flatten(1))
        if not self.dueling:
            return self.q_head(features)
        advantages = self.advantage_head(features)
        return self.value_head(features) + advantages - advantages.mean(dim=1, keepdim=True)


class NumpyQNetwork:
    """A QNetwork's forward and backward passes in numpy, on views of its parameters
    (zoo/hand_mlp.py), for the update without autograd: 4x faster on CartPole's network."""

    def __init__(self, torso: HandMLP, heads: list[HandMLP], dueling: bool):
        self.torso, self.heads, self.dueling = torso, heads, dueling

    @classmethod
    def build(cls, network: nn.Module, gradient_of: dict[int, np.ndarray] | None = None) -> NumpyQNetwork | None:
        """None where numpy cannot mirror it (vision backbones, other activations, a GPU)."""
        if not isinstance(network, QNetwork):
            return None
        torso = HandMLP.build(network.torso, gradient_of=gradient_of)
        heads = [HandMLP.build(head, gradient_of=gradient_of) for head in (
            (network.value_head, network.advantage_head) if network.dueling else (network.q_head,))]
        if torso is None or None in heads:
            return None
        return cls(torso, [head for head in heads if head is not None], network.dueling)

    def q_values(self, observations: np.ndarray, *, keep: bool = False) -> np.ndarray:
        features = self.torso.forward(observations, keep=keep)
        if not self.dueling:
            return self.heads[0].forward(features, keep=keep)
        value, advantages = (head.forward(features, keep=keep) for head in self.heads)
        return value + advantages - advantages.mean(axis=1, keepdims=True)

    def backward(self, q_gradient: np.ndarray) -> None:
        """Parameter gradients of the last `q_values(..., keep=True)`, given dLoss/dQ."""
        if not self.dueling:
            features_gradient = self.heads[0].backward_to_input(q_gradient)
        else:  # Q = V + A - mean(A): V takes the row sums, A the rows centred
            value_head, advantage_head = self.heads
            features_gradient = value_head.backward_to_input(q_gradient.sum(axis=1, keepdims=True))
            features_gradient += advantage_head.backward_to_input(q_gradient - q_gradient.mean(axis=1, keepdims=True))
        self.torso.backward(features_gradient)


class DQNAgent(BaseAgent):
    """`double_dqn` and `dueling_dqn` are this agent with their flags set (zoo.registry)."""

    algo = "dqn"
    uses_torch = True
    observation_dtype: type = np.float32  # what the Q-network reads (vision_dqn: uint8 frames)

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: DQNConfig, **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ZooError(f"{self.algo} needs a Discrete action space, got {action_space}; "
                           "for continuous actions use ddpg or sac.")
        self.check_observation_space(observation_space)
        self.n_actions = int(action_space.n)
        self.observation_shape: tuple[int, ...] = tuple(observation_space.shape or ())
        if self.seed is not None:
            torch.manual_seed(self.seed)
        # Built on the CPU, then moved: the same seed gives the same initial weights on any device.
        self.q_network = self.build_q_network().to(self.device)
        self.target_q_network = self.build_q_network().to(self.device)
        self.target_q_network.load_state_dict(self.q_network.state_dict())
        self.target_q_network.requires_grad_(False)
        # Listed once: walking the module tree for them on every update cost ~5% of training.
        self.q_parameters: list[torch.Tensor] = list(self.q_network.parameters())
        self.target_parameters: list[torch.Tensor] = list(self.target_q_network.parameters())
        self.learning_rate_schedule = parse_schedule(config.learning_rate, "learning_rate")  # RL Zoo's lin_ or a number
        self.clock: ScheduleClock = ScheduleClock(config.n_timesteps)  # its step: env steps, from the loop's on_step
        self.optimizer = ClippedAdam(self.q_parameters, self.learning_rate_schedule[1], config.max_grad_norm)
        self.exploration_rate = config.exploration_initial_eps
        # (step, rate) the linear decay starts from: the initial rate at step 0, or, in a run
        # resumed with another budget, where it stood, so epsilon goes on down from there to the
        # final rate at exploration_fraction of the new budget instead of jumping back up (as the
        # learning-rate schedule's ScheduleClock does; SB3 recomputes it from the new budget).
        self.exploration_anchor: tuple[int, float] = (0, config.exploration_initial_eps)
        self.n_updates = 0
        self.greedy_scores = self.build_greedy_scores()
        # The update runs in numpy where numpy mirrors the network (update_in_numpy), with autograd
        # elsewhere (update_with_autograd): the same arithmetic, tested to agree.
        self.numpy_q_network = self.numpy_target_q_network = None
        if self.optimizer.runs_by_hand and numpy_is_faster(config.batch_size, config.net_arch):
            gradients = self.optimizer.gradient_of("numpy")
            online = NumpyQNetwork.build(self.q_network, gradient_of=gradients)
            target = NumpyQNetwork.build(self.target_q_network)  # no gradients
            if online is not None and target is not None:
                self.numpy_q_network, self.numpy_target_q_network = online, target

    def check_observation_space(self, space: gym.Space) -> None:
        if not isinstance(space, gym.spaces.Box):
            raise ZooError(f"{self.algo} needs a Box (vector) observation space, got {space}; "
                           "for images use vision_dqn.")

    def build_q_network(self) -> nn.Module:
        return QNetwork(observation_size(self.observation_shape), self.n_actions, self.config)

    def build_greedy_scores(self) -> NumpyForward | None:
        # Greedy actions need only the torso and the advantage (or Q) head: V(s) and the
        # mean advantage are the same for every action. Numpy does it ~5x faster per step
        # (None on a GPU, whose weights numpy cannot see).
        network = self.q_network
        assert isinstance(network, QNetwork)
        head = network.advantage_head if self.config.dueling else network.q_head
        return NumpyForward.build(network.torso, head)

    @property
    def n_parameters(self) -> int:
        """Parameters of the Q-network (backbone and head), as benchmarks report them."""
        return sum(parameter.numel() for parameter in self.q_parameters)

    # -- acting ------------------------------------------------------------------------

    def take_action(self, observation: Any, deterministic: bool = False) -> int:
        # checked before exploring too: a bad observation is refused every time, not by a coin flip
        observation = self.checked_observation(observation, self.observation_shape, self.observation_dtype)
        if not deterministic and self.np_random.random() < self.exploration_rate:
            return int(self.np_random.integers(self.n_actions))
        if self.greedy_scores is not None:
            return int(self.greedy_scores(observation.reshape(-1)).argmax())
        with torch.inference_mode():
            return int(self.q_network(torch.as_tensor(observation)[None].to(self.device)).argmax())

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        observations = self.observation_batch(observations, self.observation_shape, self.observation_dtype)
        if self.greedy_scores is not None:
            return self.greedy_scores(observations.reshape(len(observations), -1)).argmax(1)
        with torch.inference_mode():
            return self.q_network(torch.as_tensor(observations).to(self.device)).argmax(1).cpu().numpy()

    def random_actions(self, n: int) -> np.ndarray:
        return self.np_random.integers(self.n_actions, size=n)

    def make_replay_buffer(self, capacity: int, seed: int | None) -> ReplayStore:
        return ReplayBuffer(capacity, self.observation_shape, (), self.observation_dtype, np.int64, seed=seed)

    def on_step(self, num_timesteps: int) -> None:
        config = self.config
        self.clock.step = num_timesteps
        start_step, start_rate = self.exploration_anchor
        decay_steps = config.exploration_fraction * config.n_timesteps - start_step
        progress = min(1.0, max(0.0, (num_timesteps - start_step) / decay_steps)) if decay_steps > 0 else 1.0
        self.exploration_rate = start_rate + progress * (config.exploration_final_eps - start_rate)
        if num_timesteps % config.target_update_interval == 0:
            self.update_target()

    # -- learning ----------------------------------------------------------------------

    def td_target(self, batch: Batch) -> torch.Tensor:
        # no_grad, not inference_mode: the target takes part in the loss's backward graph.
        with torch.no_grad():
            next_q_target = self.target_q_network(batch.next_observations)
            if self.config.double:
                next_actions = self.q_network(batch.next_observations).argmax(dim=1, keepdim=True)
                next_q = next_q_target.gather(1, next_actions).squeeze(1)
            else:
                next_q = next_q_target.max(dim=1).values
            return batch.rewards + self.config.gamma * (1.0 - batch.terminated) * next_q

    def online_q_values(self, observations: torch.Tensor) -> torch.Tensor:
        """Q(s, .) in the loss's forward pass (vision_dqn trains its batch norm there)."""
        return self.q_network(observations)

    def update(self, batch: Batch) -> Metrics:
        scheduled = apply_learning_rate_schedule(self.learning_rate_schedule, self.clock, (self.optimizer,))
        metrics = self.update_in_numpy(batch) if self.numpy_q_network is not None else self.update_with_autograd(batch)
        return {**metrics, **scheduled}

    def update_with_autograd(self, batch: Batch) -> Metrics:
        batch = batch.to(self.device)  # frames cross as uint8, a quarter of float32
        td_target = self.td_target(batch)
        q = self.online_q_values(batch.observations).gather(1, batch.actions.view(-1, 1)).squeeze(1)
        loss = F.smooth_l1_loss(q, td_target) if self.config.loss == "huber" else F.mse_loss(q, td_target)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()  # clips the gradient norm to max_grad_norm, then Adam
        self.n_updates += 1
        return {"loss": float(loss.detach())}

    def update_in_numpy(self, batch: Batch) -> Metrics:
        """update_with_autograd's arithmetic by hand: TD target, loss gradient, backward pass,
        clipped Adam (an update of CartPole's [128, 128] network: 1.46 -> 0.32 ms here)."""
        online, target = self.numpy_q_network, self.numpy_target_q_network
        assert online is not None and target is not None
        n = len(batch.rewards)
        observations = batch.observations.numpy().reshape(n, -1)
        next_observations = batch.next_observations.numpy().reshape(n, -1)
        actions, rows = batch.actions.numpy(), np.arange(n)
        next_q_target = target.q_values(next_observations)
        if self.config.double:
            next_q = next_q_target[rows, online.q_values(next_observations).argmax(axis=1)]
        else:
            next_q = next_q_target.max(axis=1)
        td_target = batch.rewards.numpy() + self.config.gamma * (1.0 - batch.terminated.numpy()) * next_q
        q_values = online.q_values(observations, keep=True)
        td_error = q_values[rows, actions] - td_target
        if self.config.loss == "huber":  # smooth_l1_loss with beta 1
            size = np.abs(td_error)
            loss = np.where(size < 1.0, 0.5 * td_error * td_error, size - 0.5).mean()
            loss_gradient = np.clip(td_error, -1.0, 1.0) / n
        else:
            loss = (td_error * td_error).mean()
            loss_gradient = td_error * (2.0 / n)
        q_gradient = np.zeros_like(q_values)
        q_gradient[rows, actions] = loss_gradient
        online.backward(q_gradient)
        self.optimizer.numpy_step()  # reads the gradients backward wrote
        self.n_updates += 1
        return {"loss": float(loss)}

    def update_target(self) -> None:
        with torch.no_grad():
            if self.config.tau >= 1.0:
                torch._foreach_copy_(self.target_parameters, self.q_parameters)
            else:
                torch._foreach_lerp_(self.target_parameters, self.q_parameters, self.config.tau)

    # -- checkpoints -------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {
            **module_arrays("q_network", self.q_network),
            **module_arrays("target_q_network", self.target_q_network),
            **self.optimizer.state_arrays("optimizer"),
            "n_updates": np.array(self.n_updates),
            "exploration_rate": np.array(self.exploration_rate),
            "exploration_anchor": np.array(self.exploration_anchor, dtype=np.float64),
            **self.clock.state_arrays(),
        }

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        load_module_arrays("q_network", self.q_network, arrays)
        load_module_arrays("target_q_network", self.target_q_network, arrays)
        self.optimizer.load_state_arrays("optimizer", arrays)
        self.n_updates = int(arrays.get("n_updates", 0))
        self.exploration_rate = float(arrays.get("exploration_rate", self.config.exploration_final_eps))
        self.exploration_anchor = anchor_from_arrays(arrays, self.exploration_anchor, "exploration_anchor")
        self.clock.load_state_arrays(arrays)

    def restore(self, metadata: dict[str, Any], arrays: dict[str, np.ndarray], path: str | Path) -> DQNAgent:
        super().restore(metadata, arrays, path)
        saved_budget = metadata.get("config", {}).get("n_timesteps")
        if isinstance(saved_budget, int) and saved_budget != self.config.n_timesteps:  # see exploration_anchor
            self.exploration_anchor = (self.num_timesteps, self.exploration_rate)
        return self

