"""DDPG (Lillicrap et al. 2016) and, with three flags, TD3 (Fujimoto et al. 2018): a
deterministic actor mu(s) = tanh(...) and a critic Q(s, a).

    y = r + gamma * (1 - terminated) * Q'(s', mu'(s'))        (target actor and critic)
    critic loss = mean((Q(s, a) - y)^2);   actor loss = -mean(Q(s, mu(s)))
Both targets follow by Polyak averaging (tau) after every update. Exploration adds Gaussian or
Ornstein-Uhlenbeck noise to mu(s) in the policy's [-1, 1] space (the OU process restarts
from zero at every episode end, as SB3's); the loop's warm-up steps (learning_starts) use
uniformly random actions. Actions are rescaled to the env's bounds.

TD3 (`td3`, a registry alias) turns on, as SB3's TD3 does:
  twin_critics         two critics (one EnsembleMLP, both in one batched pass), each regressed
                       on y = r + gamma * (1 - terminated) * min(Q1'(s', a'), Q2'(s', a'))
                       (clipped double-Q), their losses summed; the actor follows Q1
  target_policy_noise  a' = clip(mu'(s') + clip(N(0, sigma), -c, c), -1, 1): the target is
                       smoothed over nearby actions (sigma; c = target_noise_clip)
  policy_delay         the actor and both targets move once every `policy_delay` critic
                       updates (SB3 counts updates from 1: the 2nd, 4th, ... with a delay of 2)
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
from zoo.contracts import Batch, Metrics, OffPolicyConfig, ReplayStore, TrainFrequency
from zoo.errors import ZooError
from zoo.hand_mlp import Backend, HandMLP, hand_backend
from zoo.networks import ActivationName, EnsembleMLP, NumpyForward, mlp, observation_size
from zoo.normalization import ObservationNormalizer
from zoo.optim import ClippedAdam
from zoo.replay_buffer import ReplayBuffer
from zoo.schedules import Schedule, ScheduleClock, apply_learning_rate_schedule, parse_schedule
from zoo.torch_state import load_module_arrays, module_arrays


@dataclass
class DDPGConfig(OffPolicyConfig):
    # Defaults are SB3's DDPG.
    batch_size: int = 256
    train_freq: TrainFrequency = 1
    learning_rate: Schedule = 1e-3  # Adam step size, actor and critic: a number or lin_<start>
    tau: float = 0.005  # Polyak averaging of both targets after every update
    noise: Literal["normal", "ornstein_uhlenbeck", "none"] = "normal"  # exploration noise
    noise_std: float = 0.1  # its scale, in the [-1, 1] action space
    noise_theta: float = 0.15  # Ornstein-Uhlenbeck mean reversion
    net_arch: list[int] = field(default_factory=lambda: [400, 300])  # actor and critic each
    activation: ActivationName = "relu"
    normalize_observations: bool = False  # running mean/std of observations (zoo/normalization.py)
    # TD3's three additions (the `td3` alias sets them to SB3's TD3 values)
    twin_critics: bool = False  # two critics, the target from the smaller (clipped double-Q)
    target_policy_noise: float = 0.0  # std of the noise smoothing the target action (0: none)
    target_noise_clip: float = 0.5  # that noise is clipped to +-this
    policy_delay: int = 1  # critic updates per actor (and target) update

    def __post_init__(self):
        super().__post_init__()
        parse_schedule(self.learning_rate, "learning_rate")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")
        if self.target_policy_noise < 0 or self.target_noise_clip < 0:
            raise ValueError("target_policy_noise and target_noise_clip must be >= 0")
        if self.policy_delay < 1:
            raise ValueError(f"policy_delay must be at least 1, got {self.policy_delay}")


class DDPGAgent(BaseAgent):
    algo = "ddpg"
    uses_torch = True

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: DDPGConfig, **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        if isinstance(action_space, gym.spaces.Discrete):
            raise ZooError(f"{self.algo} is for continuous actions; for Discrete ones use dqn or sac.")
        self.actions = BoxActions(action_space, self.algo, self.device)
        if not isinstance(observation_space, gym.spaces.Box):
            raise ZooError(f"{self.algo} needs a Box (vector) observation space, got {observation_space}.")
        if self.seed is not None:
            torch.manual_seed(self.seed)
        self.observation_shape: tuple[int, ...] = tuple(observation_space.shape or ())
        in_features = observation_size(self.observation_shape)
        self.action_dim = self.actions.dim
        self.actor = nn.Sequential(mlp(in_features, self.action_dim, config.net_arch, config.activation),
                                   nn.Tanh()).to(self.device)
        # DDPG: one critic MLP, Q(s, a) -> [B, 1] (the checkpoint names of 0.1.0). TD3: both critics
        # in one EnsembleMLP evaluated in a single batched pass (as SAC's), -> [2, B, 1].
        self.critic: nn.Module = (
            EnsembleMLP(2, in_features + self.action_dim, 1, config.net_arch, config.activation)
            if config.twin_critics else mlp(in_features + self.action_dim, 1, config.net_arch, config.activation)
        ).to(self.device)
        self.target_actor = copy.deepcopy(self.actor).requires_grad_(False)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.critic_parameters: list[torch.Tensor] = list(self.critic.parameters())
        self.online_parameters: list[torch.Tensor] = [*self.actor.parameters(), *self.critic_parameters]
        self.target_parameters: list[torch.Tensor] = [*self.target_actor.parameters(),
                                                      *self.target_critic.parameters()]
        # RL Zoo's lin_<start> falls to 0 over n_timesteps, read before every update at the env
        # steps done (SB3 reads it once per train() call, after collecting: the same value)
        self.learning_rate_schedule = parse_schedule(config.learning_rate, "learning_rate")
        self.clock: ScheduleClock = ScheduleClock(config.n_timesteps)  # its step: env steps, from the loop's on_step
        start = self.learning_rate_schedule[1]
        self.actor_optimizer = ClippedAdam(list(self.actor.parameters()), start)
        self.critic_optimizer = ClippedAdam(self.critic_parameters, start)  # one for both critics, as SB3
        self.last_actor_loss: float | None = None  # reported from the first actor update on (TD3 delays it)
        self.greedy = NumpyForward.build(self.actor[0])  # tanh applied in numpy; None on a GPU
        self.noise_state = np.zeros(self.action_dim, dtype=np.float32)
        self.normalizer = ObservationNormalizer(self.observation_shape) if config.normalize_observations else None
        self.n_updates = 0
        # The update runs by hand where the networks can be mirrored (update_by_hand: in numpy for
        # small networks, in torch operations without autograd for larger ones), with autograd
        # elsewhere (update_with_autograd): the same arithmetic, tested to agree.
        self.hand_networks = self.build_hand_networks()

    def build_hand_networks(self, backend: Backend | None = None) -> dict[str, HandMLP] | None:
        """Mirrors of the actor, critic(s) and targets (zoo/hand_mlp.py), or None (a GPU, other
        activations). "actor_critic" is the critic the actor follows: Q1 for TD3. The backend
        goes by the networks' size unless given (tests run both on one agent)."""
        config = self.config
        if not (self.actor_optimizer.runs_by_hand and self.critic_optimizer.runs_by_hand):
            return None
        backend = backend or hand_backend(config.batch_size, config.net_arch)
        # A deterministic policy and its critics leave many ReLU units dead (half and more of RL
        # Zoo's [400, 300] second layers on Pendulum): the backward products skip them (hand_mlp)

        def critic(network: nn.Module, member: int | None = None,
                   gradient_of: dict[int, Any] | None = None) -> HandMLP | None:
            if isinstance(network, EnsembleMLP):  # TD3's twin critics
                return HandMLP.from_ensemble(network, member=member, gradient_of=gradient_of, backend=backend,
                                             skip_dead_units=True)
            return HandMLP.build(network, gradient_of=gradient_of, backend=backend, skip_dead_units=True)

        networks = {
            "actor": HandMLP.build(*self.actor, gradient_of=self.actor_optimizer.gradient_of(backend), backend=backend,
                                   skip_dead_units=True),
            "critic": critic(self.critic, gradient_of=self.critic_optimizer.gradient_of(backend)),
            "actor_critic": critic(self.critic, member=0),
            "target_actor": HandMLP.build(*self.target_actor, backend=backend),
            "target_critic": critic(self.target_critic),
        }
        if any(network is None for network in networks.values()):
            return None
        return {name: network for name, network in networks.items() if network is not None}

    # -- acting ------------------------------------------------------------------------

    def take_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        observation = self.checked_observation(observation, self.observation_shape)
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

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        observations = self.observation_batch(observations, self.observation_shape)
        if self.normalizer is not None:
            observations = self.normalizer(observations)
        flat = observations.reshape(len(observations), -1)
        if self.greedy is not None:
            squashed = np.tanh(self.greedy(flat))
        else:
            with torch.inference_mode():
                squashed = self.actor(torch.from_numpy(flat).to(self.device)).cpu().numpy()
        return self.actions.batch_to_env(squashed.astype(np.float32))

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

    def on_step(self, num_timesteps: int) -> None:
        self.clock.step = num_timesteps

    def update(self, batch: Batch) -> Metrics:
        scheduled = apply_learning_rate_schedule(self.learning_rate_schedule, self.clock,
                                                 (self.actor_optimizer, self.critic_optimizer))
        metrics = self.update_by_hand(batch) if self.hand_networks is not None else self.update_with_autograd(batch)
        return {**metrics, **scheduled}

    def update_with_autograd(self, batch: Batch) -> Metrics:
        batch = batch.to(self.device)
        if self.normalizer is not None:
            batch = dataclasses.replace(batch, observations=self.normalizer.torch(batch.observations),
                                        next_observations=self.normalizer.torch(batch.next_observations))
        config = self.config
        actions = self.actions.to_policy(batch.actions)
        with torch.no_grad():
            td_target = batch.rewards + config.gamma * (1.0 - batch.terminated) * self.target_q(batch.next_observations)
        q = self.critic(torch.cat([batch.observations, actions], 1)).squeeze(-1)  # [B], or [2, B] for TD3
        # TD3: the two critics' losses summed, as SB3 does; DDPG: its one critic's
        critic_loss = ((q - td_target) ** 2).mean(-1).sum() if self.config.twin_critics else F.mse_loss(q, td_target)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        self.n_updates += 1

        if self.n_updates % config.policy_delay == 0:  # every update for DDPG
            # The actor needs dQ/da only: with the critic's weights out of this graph, backward
            # skips their gradients (measured: ~15% of the update with [400, 300] nets).
            self.critic.requires_grad_(False)
            try:
                state_actions = torch.cat([batch.observations, self.actor(batch.observations)], 1)
                critic = self.critic
                q1 = critic.member(0, state_actions) if isinstance(critic, EnsembleMLP) else critic(state_actions)
                actor_loss = -q1.mean()  # TD3: the first critic alone, as in the paper
            finally:
                self.critic.requires_grad_(True)
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            with torch.no_grad():
                torch._foreach_lerp_(self.target_parameters, self.online_parameters, config.tau)
            self.last_actor_loss = float(actor_loss.detach())
        return self.update_metrics(float(critic_loss.detach()))

    def update_metrics(self, critic_loss: float) -> Metrics:
        metrics = {"loss": critic_loss}
        if self.last_actor_loss is not None:
            metrics["actor_loss"] = self.last_actor_loss
        return metrics

    def update_by_hand(self, batch: Batch) -> Metrics:
        """update_with_autograd's arithmetic by hand (zoo/hand_mlp.py), in numpy or in torch
        operations without autograd. Measured here, batch 256: TD3 [64, 64] 1.7-3.4 -> 1.2-1.5 ms
        (numpy); [400, 300] 0.84-0.92x (DDPG) and 0.89-0.94x (TD3) autograd's time (torch,
        interleaved in one process)."""
        networks, config = self.hand_networks, self.config
        assert networks is not None
        ops: Any = networks["critic"].ops  # NumpyOps or TorchOps: this body is written once for both
        n = len(batch.rewards)
        observations, next_observations = batch.observations.reshape(n, -1), batch.next_observations.reshape(n, -1)
        if self.normalizer is not None:
            observations = self.normalizer.torch(observations)
            next_observations = self.normalizer.torch(next_observations)
        observations, next_observations = ops.array(observations), ops.array(next_observations)
        actions = ops.array(self.actions.to_policy(batch.actions))
        next_actions = networks["target_actor"].forward(next_observations)
        if config.target_policy_noise > 0:  # torch's generator, as update_with_autograd's randn_like
            noise = ops.array(torch.randn(tuple(next_actions.shape))) * config.target_policy_noise
            next_actions = ops.clip(next_actions + ops.clip(noise, -config.target_noise_clip, config.target_noise_clip),
                                    -1.0, 1.0)
        next_q = networks["target_critic"].forward(ops.concat([next_observations, next_actions]))[..., 0]
        if config.twin_critics:
            next_q = ops.member_min(next_q)
        td_target = ops.array(batch.rewards) + config.gamma * (1.0 - ops.array(batch.terminated)) * next_q
        critic = networks["critic"]
        td_error = critic.forward(ops.concat([observations, actions]), keep=True)[..., 0] - td_target
        critic_loss = float((td_error * td_error).mean(-1).sum())  # TD3: both critics' losses summed
        critic.backward((td_error * (2.0 / n))[..., None])
        ops.step(self.critic_optimizer)
        self.n_updates += 1

        if self.n_updates % config.policy_delay == 0:
            actor = networks["actor"]
            policy_actions = actor.forward(observations, keep=True)  # tanh(...), in [-1, 1]
            q1 = networks["actor_critic"].forward(ops.concat([observations, policy_actions]), keep=True)
            action_gradient = networks["actor_critic"].backward_to_input(
                ops.full_like(q1, -1.0 / n), columns=slice(observations.shape[1], None))
            actor.backward(action_gradient)
            ops.step(self.actor_optimizer)
            with torch.no_grad():
                torch._foreach_lerp_(self.target_parameters, self.online_parameters, config.tau)
            self.last_actor_loss = -float(q1.mean())
        return self.update_metrics(critic_loss)

    def target_q(self, next_observations: torch.Tensor) -> torch.Tensor:
        """Q'(s', a') of the target networks: a' smoothed by clipped noise (TD3), the smaller of
        two target critics (TD3), else DDPG's single Q'(s', mu'(s'))."""
        config = self.config
        next_actions = self.target_actor(next_observations)
        if config.target_policy_noise > 0:
            noise = (torch.randn_like(next_actions) * config.target_policy_noise).clamp(
                -config.target_noise_clip, config.target_noise_clip)
            next_actions = (next_actions + noise).clamp(-1.0, 1.0)
        next_q = self.target_critic(torch.cat([next_observations, next_actions], 1)).squeeze(-1)
        return next_q.min(0).values if self.config.twin_critics else next_q

    # -- checkpoints -------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {
            **self.clock.state_arrays(), **module_arrays("actor", self.actor), **module_arrays("critic", self.critic),
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
        self.clock.load_state_arrays(arrays)
