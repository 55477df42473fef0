"""Soft Actor-Critic (Haarnoja et al. 2018), and its discrete-action form (Christodoulou 2019).

Continuous actions: a tanh-squashed Gaussian policy, u ~ N(mu(s), sigma(s)), a = tanh(u),
    log pi(a|s) = log N(u; mu, sigma) - sum log(1 - tanh(u)^2 + 1e-6)   (on the pre-tanh u)
twin critics with twin targets (clipped double-Q), evaluated in one batched pass:
    y = r + gamma * (1 - terminated) * (min_i Q'_i(s', a') - alpha * log pi(a'|s')),  a' ~ pi(s')
    critic loss = 1/2 sum_i mean((Q_i(s, a) - y)^2)
    actor loss  = mean(alpha * log pi(a~|s) - min_i Q_i(s, a~)),  a~ reparameterised
    alpha loss  = -mean(log alpha * (log pi(a~|s) + target_entropy)),  target = -dim(A)
all three learned from the same parameters in one step, and Polyak-averaged targets after
every update. The deterministic action is tanh(mu(s)).
The policy works in [-1, 1]; actions are rescaled to the env's bounds (and back for learning).

`use_sde` (continuous actions): generalized State-Dependent Exploration (Raffin, Kober and
Stulp 2021) as SB3's SAC runs it. The log std is a learned [features, actions] matrix instead
of a head, the noise z(s) @ E with z(s) the torso's features and E ~ N(0, sigma^2) entrywise:
    u = clip(mu(s), -2, 2) + z(s) @ E,   a = tanh(u),
    log pi(a|s) = log N(u; mu, sqrt(z^2 @ sigma^2 + 1e-6)) - sum log(1 - tanh(u)^2 + 1e-6)
with the mean clipped as SB3's clip_mean (2) and the features trained through the noise too
(SB3's learn_features for SAC). Every update draws one E for its whole batch (s and s'), E =
sigma * N(0, 1) so that the actor loss reaches log std through it (SB3's rsample); acting holds
one E for a collection of train_freq steps or episodes, or sde_sample_freq steps of it. The
deterministic action is tanh(clip(mu(s), -2, 2)). The log-probability is taken at u itself,
where SB3 takes it at atanh(a) (equal but where tanh saturates in float32).

Discrete actions: the critics give Q(s, .) for every action and expectations over pi replace
samples: y uses V(s') = sum_a' pi(a'|s') (min_i Q'_i(s', a') - alpha log pi(a'|s')), the actor
minimises sum_a pi(a|s) (alpha log pi(a|s) - min_i Q_i(s, a)), and the default target
entropy is 0.98 * log|A| (the paper's choice). The deterministic action is argmax pi.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo.action_scaling import BoxActions
from zoo.agent import BaseAgent
from zoo.contracts import Batch, Metrics, OffPolicyConfig, ReplayStore, TrainFrequency, check_sde_sample_freq
from zoo.errors import ZooError
from zoo.hand_mlp import Backend, HandMLP, hand_backend
from zoo.networks import ActivationName, EnsembleMLP, NumpyForward, mlp, observation_size
from zoo.normalization import ObservationNormalizer
from zoo.optim import ClippedAdam
from zoo.policies import SDE_EPSILON, refuse_sde_for_discrete_actions, sde_std
from zoo.replay_buffer import ReplayBuffer
from zoo.schedules import Schedule, ScheduleClock, apply_learning_rate_schedule, parse_schedule
from zoo.torch_state import load_module_arrays, module_arrays

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # keeps sigma in a range where exp and log stay finite
SDE_CLIP_MEAN = 2.0  # gSDE: the Gaussian's mean is clipped to +-this (SB3's clip_mean)


@dataclass
class SACConfig(OffPolicyConfig):
    # Defaults are SB3's SAC.
    batch_size: int = 256
    train_freq: TrainFrequency = 1
    learning_rate: Schedule = 3e-4  # Adam step size for actor, critics and temperature: a number or lin_<start>
    tau: float = 0.005  # Polyak averaging of the target critics after every update
    ent_coef: float | None = None  # fixed temperature alpha; None: tuned toward target_entropy
    initial_alpha: float = 1.0  # starting alpha when tuned
    target_entropy: float | None = None  # None: -dim(A), or 0.98 * log|A| for discrete actions
    net_arch: list[int] = field(default_factory=lambda: [256, 256])  # actor and each critic
    activation: ActivationName = "relu"
    normalize_observations: bool = False  # running mean/std of observations (zoo/normalization.py)
    use_sde: bool = False  # continuous actions: gSDE exploration (above) instead of per-step noise
    sde_sample_freq: int = -1  # gSDE: draw E every N env steps (-1: once per train_freq steps)
    log_std_init: float = -3.0  # gSDE: initial log std of E's entries (SB3's SAC default)
    use_sde_at_warmup: bool = False  # gSDE: the learning_starts steps explore with the policy, not at random

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        check_sde_sample_freq(self.sde_sample_freq)
        if self.use_sde_at_warmup and not self.use_sde:  # SB3 ignores it there; a typo'd entry should hear
            raise ValueError("use_sde_at_warmup explores the warm-up steps by gSDE: it needs use_sde: true")
        if self.ent_coef is not None and self.ent_coef < 0:
            raise ValueError(f"ent_coef must be >= 0, got {self.ent_coef}")
        parse_schedule(self.learning_rate, "learning_rate")
        if self.initial_alpha <= 0:
            raise ValueError(f"initial_alpha must be > 0, got {self.initial_alpha}")


class SquashedGaussianActor(nn.Module):
    def __init__(self, in_features: int, action_dim: int, net_arch: list[int], activation: str, *,
                 use_sde: bool = False, log_std_init: float = -3.0):
        super().__init__()
        self.torso = mlp(in_features, None, net_arch, activation)
        width = net_arch[-1] if net_arch else in_features
        self.mean_head = nn.Linear(width, action_dim)
        self.use_sde = use_sde
        if use_sde:  # gSDE: one log std per (feature, action) pair, not a function of the state
            self.log_std = nn.Parameter(torch.full((width, action_dim), float(log_std_init)))
        else:
            self.log_std_head = nn.Linear(width, action_dim)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """The Gaussian's mean, before tanh: the deterministic action is its tanh."""
        return self.mean(self.torso(observations))

    def mean(self, features: torch.Tensor) -> torch.Tensor:
        mean = self.mean_head(features)
        return mean.clamp(-SDE_CLIP_MEAN, SDE_CLIP_MEAN) if self.use_sde else mean

    def sample(self, observations: torch.Tensor,
               noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised squashed sample in [-1, 1] and its log-probability. `noise`: the
        standard normal draw to use, else a fresh one: [B, actions], or with gSDE the [features,
        actions] draw behind E, one for the whole batch."""
        features = self.torso(observations)
        if self.use_sde:
            return self._sde_sample(features, torch.randn_like(self.log_std) if noise is None else noise)
        log_std = self.log_std_head(features).clamp(LOG_STD_MIN, LOG_STD_MAX)
        sample = _SquashedSample.draw(self.mean_head(features), log_std, noise)  # draw's clamp leaves it as is
        return sample.action, sample.log_prob

    def _sde_sample(self, features: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.mean(features)
        sigma = self.log_std.exp()
        pre_tanh = mean + features @ (sigma * noise)  # E = sigma * N(0, 1): the loss reaches sigma through E
        std = sde_std(features, sigma)  # z not detached: the torso learns through the noise (learn_features)
        return torch.tanh(pre_tanh), squashed_log_prob(pre_tanh, mean, std.log())

    def explore_with(self, observations: torch.Tensor, exploration_matrix: torch.Tensor) -> torch.Tensor:
        """gSDE's exploring action in [-1, 1] for a held E: tanh(clip(mu(s)) + z(s) @ E)."""
        features = self.torso(observations)
        return torch.tanh(self.mean(features) + features @ exploration_matrix)


def squashed_log_prob(pre_tanh: Any, mean: Any, log_std: Any, xp: Any = torch) -> Any:
    """log pi(tanh(u)) = log N(u; mean, std) - sum log(1 - tanh(u)^2 + 1e-6), summed over dims.
    On tensors, or on numpy arrays with xp=np (update_by_hand's numpy backend)."""
    gaussian = -0.5 * ((pre_tanh - mean) / xp.exp(log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
    return (gaussian - xp.log(1.0 - xp.tanh(pre_tanh) ** 2 + 1e-6)).sum(-1)


class _SquashedSample:
    """A reparameterised tanh-squashed Gaussian sample, and the backward pass of
    its arithmetic and of squashed_log_prob written out (SACAgent.update_by_hand):
    what autograd would give dLoss/dmean and dLoss/d(log_std before its clamp).
    On tensors, or on numpy arrays (the hand update's numpy backend): the arithmetic is
    written once, with `xp` (torch or numpy) for the functions both name alike."""

    def __init__(self, mean: Any, raw_log_std: Any, std: Any, noise: Any, pre_tanh: Any, action: Any, log_prob: Any):
        self.mean, self.raw_log_std, self.std, self.noise = mean, raw_log_std, std, noise
        self.pre_tanh, self.action, self.log_prob = pre_tanh, action, log_prob

    @classmethod
    def draw(cls, mean: Any, raw_log_std: Any, noise: Any = None, xp: Any = torch) -> _SquashedSample:
        """The reparameterised sample (SquashedGaussianActor.sample draws through this too, with
        autograd following): log-std clamped, u = mean + std * noise, a = tanh(u), log pi(a).
        Without `noise`, a fresh torch draw (tensors only)."""
        log_std = xp.clip(raw_log_std, LOG_STD_MIN, LOG_STD_MAX)
        std = xp.exp(log_std)
        noise = torch.randn_like(mean) if noise is None else noise
        pre_tanh = mean + std * noise
        return cls(mean, raw_log_std, std, noise, pre_tanh, xp.tanh(pre_tanh),
                   squashed_log_prob(pre_tanh, mean, log_std, xp))

    def rows(self, rows: slice) -> _SquashedSample:
        """The samples of these batch rows (views)."""
        return _SquashedSample(*(tensor[rows] for tensor in (self.mean, self.raw_log_std, self.std, self.noise,
                                                             self.pre_tanh, self.action, self.log_prob)))

    def backward(self, action_gradient: Any, log_prob_gradient: Any) -> tuple[Any, Any]:
        """dLoss/dmean and dLoss/d(raw log_std), given dLoss/daction and dLoss/dlog_prob (the same
        for every sample: the loss is a mean), along autograd's paths: u = mean + std * noise,
        z = (u - mean) / std, log_prob = sum(-z^2/2 - log_std - log(2 pi)/2 - log(1 - tanh(u)^2 + 1e-6))."""
        g, std = log_prob_gradient, self.std
        z = (self.pre_tanh - self.mean) / std  # squashed_log_prob's standardized noise
        squash = 1.0 - self.action * self.action
        # through u, but for the Gaussian's: the correction's and the action's
        pre_tanh_gradient = g * 2.0 * self.action * squash / (squash + 1e-6) + action_gradient * squash
        # The Gaussian's -z^2/2 reaches mean twice, through u (-g z / std) and through z's
        # -mean (+g z / std): autograd sums two exact opposites, 0, so mean sees the rest alone.
        # (Summed in another order they leave rounding of their size, ~1e9 when std is e^-20.)
        mean_gradient = pre_tanh_gradient
        # log_std: through std in u (all of u's gradient), through z's division by std, and directly
        log_std_gradient = (pre_tanh_gradient - g * z / std) * std * self.noise + g * (z * z - 1.0)
        inside = (self.raw_log_std >= LOG_STD_MIN) & (self.raw_log_std <= LOG_STD_MAX)  # clamp's gradient
        return mean_gradient, log_std_gradient * inside


class _SDESample:
    """gSDE's reparameterised squashed sample (SquashedGaussianActor._sde_sample's arithmetic,
    on tensors or numpy arrays as _SquashedSample) and its backward pass written out: what
    autograd would give dLoss/d(mean before its clip), dLoss/dfeatures (through the mean's
    head, the noise z(s) @ E and the std) and dLoss/d(log std), for SACAgent.update_by_hand."""

    def __init__(self, features: Any, raw_mean: Any, mean: Any, sigma: Any, noise: Any, pre_tanh: Any, std: Any,
                 action: Any, log_prob: Any):
        self.features, self.raw_mean, self.mean, self.sigma, self.noise = features, raw_mean, mean, sigma, noise
        self.pre_tanh, self.std, self.action, self.log_prob = pre_tanh, std, action, log_prob

    @classmethod
    def draw(cls, features: Any, raw_mean: Any, log_std: Any, noise: Any, xp: Any) -> _SDESample:
        """u = clip(mean, +-2) + z @ (sigma * noise), a = tanh(u), log pi(a) with the std
        sqrt(z^2 @ sigma^2 + eps); one noise [features, actions] for the whole batch."""
        mean = xp.clip(raw_mean, -SDE_CLIP_MEAN, SDE_CLIP_MEAN)
        sigma = xp.exp(log_std)
        pre_tanh = mean + features @ (sigma * noise)
        std = xp.sqrt(features ** 2 @ sigma ** 2 + SDE_EPSILON)
        return cls(features, raw_mean, mean, sigma, noise, pre_tanh, std, xp.tanh(pre_tanh),
                   squashed_log_prob(pre_tanh, mean, xp.log(std), xp))

    def rows(self, rows: slice) -> _SDESample:
        """The samples of these batch rows (views; sigma and the noise are the batch's)."""
        return _SDESample(self.features[rows], self.raw_mean[rows], self.mean[rows], self.sigma, self.noise,
                          self.pre_tanh[rows], self.std[rows], self.action[rows], self.log_prob[rows])

    def backward(self, action_gradient: Any, log_prob_gradient: Any) -> tuple[Any, Any, Any]:
        """(dLoss/d raw mean, dLoss/dfeatures but through the mean's head, dLoss/d log std), given
        dLoss/daction and dLoss/dlog_prob (the same for every sample: the loss is a mean)."""
        g = log_prob_gradient
        z = (self.pre_tanh - self.mean) / self.std  # squashed_log_prob's standardized noise
        squash = 1.0 - self.action * self.action
        # through u, but for the Gaussian's (-g z / std); the mean sees this alone, as in
        # _SquashedSample (the Gaussian's term reaches it twice, as exact opposites)
        pre_tanh_gradient = g * 2.0 * self.action * squash / (squash + 1e-6) + action_gradient * squash
        inside = (self.raw_mean >= -SDE_CLIP_MEAN) & (self.raw_mean <= SDE_CLIP_MEAN)  # the clip's gradient
        mean_gradient = pre_tanh_gradient * inside
        u_gradient = pre_tanh_gradient - g * z / self.std
        # log pi's log std term g (z^2 - 1), through log std = log(z^2 @ sigma^2 + eps) / 2
        variance_gradient = g * (z * z - 1.0) / (2.0 * self.std * self.std)
        features_gradient = (u_gradient @ (self.sigma * self.noise).T
                             + 2.0 * self.features * (variance_gradient @ (self.sigma * self.sigma).T))
        sigma_gradient = ((self.features.T @ u_gradient) * self.noise
                          + 2.0 * self.sigma * ((self.features * self.features).T @ variance_gradient))
        return mean_gradient, features_gradient, sigma_gradient * self.sigma


class SACAgent(BaseAgent):
    algo = "sac"
    uses_torch = True

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: SACConfig, **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        if not isinstance(observation_space, gym.spaces.Box):
            raise ZooError(f"sac needs a Box (vector) observation space, got {observation_space}.")
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        if not self.discrete and not isinstance(action_space, gym.spaces.Box):
            raise ZooError(f"sac supports Box and Discrete action spaces, got {action_space}.")
        self.actions: BoxActions | None = None if self.discrete else BoxActions(action_space, self.algo, self.device)
        if self.seed is not None:
            torch.manual_seed(self.seed)
        self.observation_shape: tuple[int, ...] = tuple(observation_space.shape or ())
        in_features = observation_size(self.observation_shape)
        self.actor: nn.Module
        # continuous: explore()'s numpy networks (torso, mean head, log-std head; no log-std head with gSDE)
        self.exploring: tuple[NumpyForward, NumpyForward, NumpyForward | None] | None = None
        self.exploration_matrix: torch.Tensor | None = None  # gSDE's E while acting; None: draw at the next action
        self.steps_into_collection = 0  # env steps since the last collection of train_freq ended (on_step)
        if config.use_sde:
            refuse_sde_for_discrete_actions(action_space)
        if isinstance(action_space, gym.spaces.Discrete):
            self.n_actions = int(action_space.n)
            self.actor = mlp(in_features, self.n_actions, config.net_arch, config.activation).to(self.device)
            self.critics = EnsembleMLP(2, in_features, self.n_actions, config.net_arch,
                                       config.activation).to(self.device)
            self.greedy = NumpyForward.build(self.actor)  # None on a GPU
            default_target = 0.98 * math.log(self.n_actions)
        else:
            assert self.actions is not None
            self.action_dim = self.actions.dim
            actor = SquashedGaussianActor(in_features, self.action_dim, config.net_arch, config.activation,
                                          use_sde=config.use_sde, log_std_init=config.log_std_init)
            self.actor = actor.to(self.device)
            self.critics = EnsembleMLP(2, in_features + self.action_dim, 1, config.net_arch,
                                       config.activation).to(self.device)
            self.greedy = NumpyForward.build(actor.torso, actor.mean_head)
            # The exploring action in numpy too (torso, mean head, log-std head; None on a GPU):
            # in torch it took ~190 us a step in the training loop on RL Zoo's entry (~4% of
            # the run), in numpy ~80 us there (measured 2026-11-26).
            torso, mean_head = NumpyForward.build(actor.torso), NumpyForward.build(actor.mean_head)
            log_std_head = None if config.use_sde else NumpyForward.build(actor.log_std_head)
            if torso is not None and mean_head is not None and (config.use_sde or log_std_head is not None):
                self.exploring = (torso, mean_head, log_std_head)
            default_target = -float(self.action_dim)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.critic_parameters: list[torch.Tensor] = list(self.critics.parameters())
        self.target_parameters: list[torch.Tensor] = list(self.target_critics.parameters())
        self.target_entropy = default_target if config.target_entropy is None else config.target_entropy
        # A tuned temperature is learned as log alpha; a fixed one is a constant, and a fixed 0
        # means alpha = 0 (no entropy term), not "unset" (0 has no logarithm).
        self.log_alpha = torch.tensor(math.log(config.initial_alpha), device=self.device, requires_grad=True)
        self.fixed_alpha = None if config.ent_coef is None else torch.tensor(float(config.ent_coef),
                                                                             device=self.device)
        # RL Zoo's lin_<start> falls to 0 over n_timesteps, read before every update at the env
        # steps done (SB3 reads it once per train() call, after collecting: the same value)
        self.learning_rate_schedule = parse_schedule(config.learning_rate, "learning_rate")
        self.clock: ScheduleClock = ScheduleClock(config.n_timesteps)  # its step: env steps, from the loop's on_step
        start = self.learning_rate_schedule[1]
        self.actor_optimizer = ClippedAdam(list(self.actor.parameters()), start)
        self.critic_optimizer = ClippedAdam(self.critic_parameters, start)
        self.alpha_optimizer = ClippedAdam([self.log_alpha], start)
        self.normalizer = ObservationNormalizer(self.observation_shape) if config.normalize_observations else None
        self.n_updates = 0
        # The continuous update runs by hand where the networks can be mirrored (update_by_hand),
        # with autograd elsewhere (update_with_autograd, and the discrete form): tested to agree.
        self.sde_log_std_gradient = torch.empty(0)  # gSDE's, in the actor's gradient buffer (build_hand_networks)
        self.hand_networks = self.build_hand_networks()

    def build_hand_networks(self, backend: Backend | None = None) -> dict[str, HandMLP] | None:
        """Mirrors (zoo/hand_mlp.py) of the actor's torso and heads, the critics (their weights'
        gradients for the critic loss, their input's for the actor's) and the target critics;
        None for discrete actions, a GPU or other activations. The backend goes by the networks'
        size (the torso runs s and s' together: twice the batch) unless given (tests run both)."""
        optimizers = (self.actor_optimizer, self.critic_optimizer, self.alpha_optimizer)
        if self.discrete or not all(optimizer.runs_by_hand for optimizer in optimizers):
            return None
        backend = backend or hand_backend(2 * self.config.batch_size, self.config.net_arch)
        actor = self.squashed_actor()
        # numpy's views and torch's share one gradient buffer, which either Adam step reads
        actor_gradients = self.actor_optimizer.gradient_of(backend)
        critic_gradients = self.critic_optimizer.gradient_of(backend)
        networks = {
            "torso": HandMLP.build(actor.torso, gradient_of=actor_gradients, backend=backend),
            "mean_head": HandMLP.build(actor.mean_head, gradient_of=actor_gradients, backend=backend),
            "critics": HandMLP.from_ensemble(self.critics, gradient_of=critic_gradients, backend=backend),
            "target_critics": HandMLP.from_ensemble(self.target_critics, backend=backend),
        }
        if actor.use_sde:  # gSDE's log std is a parameter (_SDESample), not a head
            self.sde_log_std_gradient = self.actor_optimizer.gradient_of("torch")[id(actor.log_std)]
        else:
            networks["log_std_head"] = HandMLP.build(actor.log_std_head, gradient_of=actor_gradients, backend=backend)
        if any(network is None for network in networks.values()):
            return None
        return {name: network for name, network in networks.items() if network is not None}

    def temperature(self) -> torch.Tensor:
        """alpha, out of any graph: the fixed value, or exp(log alpha) when tuned."""
        return self.log_alpha.detach().exp() if self.fixed_alpha is None else self.fixed_alpha

    @property
    def alpha(self) -> float:
        return float(self.temperature())

    # -- acting ------------------------------------------------------------------------

    def squashed_actor(self) -> SquashedGaussianActor:
        """The continuous actor (its sample() and mean head) and its action scaling."""
        assert isinstance(self.actor, SquashedGaussianActor) and self.actions is not None
        return self.actor

    def box_actions(self) -> BoxActions:
        assert self.actions is not None
        return self.actions

    def take_action(self, observation: Any, deterministic: bool = False) -> int | np.ndarray:
        observation = self.checked_observation(observation, self.observation_shape)
        if self.normalizer is not None:
            observation = self.normalizer(observation)
        if deterministic and self.greedy is not None:
            out = self.greedy(observation.reshape(-1))
            return int(out.argmax()) if self.discrete else self.box_actions().to_env(np.tanh(self.clip_mean(out)))
        if not self.discrete and not deterministic and self.exploring is not None:
            return self.box_actions().to_env(self.explore(observation.reshape(-1)))
        with torch.inference_mode():
            batch = torch.from_numpy(observation).reshape(1, -1).to(self.device)
            if self.discrete:
                logits = self.actor(batch)[0]
                return int(logits.argmax()) if deterministic else int(torch.distributions.Categorical(
                    logits=logits).sample())
            if deterministic:
                return self.box_actions().to_env(torch.tanh(self.actor(batch))[0].cpu().numpy())
            if self.config.use_sde:
                matrix = self.sde_exploration_matrix().to(self.device)
                return self.box_actions().to_env(self.squashed_actor().explore_with(batch, matrix)[0].cpu().numpy())
            return self.box_actions().to_env(self.squashed_actor().sample(batch)[0][0].cpu().numpy())

    def clip_mean(self, mean: np.ndarray) -> np.ndarray:
        """The Gaussian's mean as the actor's forward gives it: clipped with gSDE."""
        return np.clip(mean, -SDE_CLIP_MEAN, SDE_CLIP_MEAN) if self.config.use_sde else mean

    def explore(self, observation: np.ndarray) -> np.ndarray:
        """A squashed Gaussian sample in [-1, 1], tanh(mean + std * noise), as
        SquashedGaussianActor.sample draws it, in numpy with the agent's own generator (the
        updates keep torch's). With gSDE tanh(clip(mean) + z(s) @ E), E held between draws."""
        assert self.exploring is not None
        torso, mean_head, log_std_head = self.exploring
        features = torso(observation)
        if log_std_head is None:  # gSDE
            return np.tanh(self.clip_mean(mean_head(features)) + features @ self.sde_exploration_matrix().numpy())
        log_std = np.clip(log_std_head(features), LOG_STD_MIN, LOG_STD_MAX)
        noise = self.np_random.standard_normal(log_std.shape).astype(np.float32)
        return np.tanh(mean_head(features) + np.exp(log_std) * noise)

    def sde_exploration_matrix(self) -> torch.Tensor:
        """gSDE's E for acting, [features, actions] on the CPU: drawn N(0, sigma^2) from torch's
        generator (seeded by the agent) with the current sigma, and held until on_step asks for
        another (SB3's reset_noise in collect_rollouts)."""
        if self.exploration_matrix is None:
            sigma = self.squashed_actor().log_std.detach().exp().cpu()
            self.exploration_matrix = torch.randn(sigma.shape) * sigma
        return self.exploration_matrix

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        observations = self.observation_batch(observations, self.observation_shape)
        if self.normalizer is not None:
            observations = self.normalizer(observations)
        flat = observations.reshape(len(observations), -1)
        if self.greedy is not None:
            out = self.greedy(flat)
            out = out if self.discrete else self.clip_mean(out)
        else:
            with torch.inference_mode():
                out = self.actor(torch.from_numpy(flat).to(self.device)).cpu().numpy()
        return out.argmax(1) if self.discrete else self.box_actions().batch_to_env(np.tanh(out))

    def explores_at_warmup(self) -> bool:
        return self.config.use_sde_at_warmup  # SB3's SAC: the gSDE policy's actions from the first step

    def random_actions(self, n: int) -> np.ndarray:
        if self.discrete:
            return self.np_random.integers(self.n_actions, size=n)
        return self.box_actions().random(n, self.np_random)

    def make_replay_buffer(self, capacity: int, seed: int | None) -> ReplayStore:
        if self.discrete:
            return ReplayBuffer(capacity, self.observation_shape, (), np.float32, np.int64, seed=seed)
        return ReplayBuffer(capacity, self.observation_shape, self.box_actions().shape, np.float32, np.float32,
                            seed=seed)

    def record_observation(self, observation: np.ndarray) -> None:
        if self.normalizer is not None:
            self.normalizer.update(observation)

    # -- learning ----------------------------------------------------------------------
    #
    # All three losses are computed from the same pre-update parameters and learned in one
    # backward pass, as in the authors' implementation (softlearning runs the critic, policy
    # and temperature train ops together; SB3 and CleanRL step them one after the other).
    # One backward instead of three, and the actor's pass through the critics runs with their
    # weights frozen, so backward skips the critics' weight gradients that only the critic
    # loss needs. Measured on this CPU (batch 256, [256, 256], 2 threads): 11.2 -> 8.2 ms.
    # On the CPU the continuous update then runs by hand (update_by_hand): the same losses and
    # steps, no graph, 0.885x autograd's time on RL Zoo's entry (interleaved in one process,
    # 2026-11-26); against SB3's SAC in the same process 0.51-0.55x its time per update.
    # There the policy's passes on s and s' run as one (one noise draw for both, which
    # _continuous_losses draws alike) and the three Adam steps as one fused call
    # (zoo.optim.step_together): 0.96-0.98x the time per update before, with bit-identical
    # results (old and new alternating in one process, 2026-11-26, on RL Zoo's [256, 256] batch
    # 256 and the flagship's [64, 64] batch 128). The critics' two passes merged too (one pass
    # over 2B rows) cost 5% at [256, 256] instead: they stay two (again 2-5% on 2026-11-27:
    # [2, 512, 256] activations fill the 1 MB of L2 cache per core). Small networks run the
    # same walk in numpy (hand_backend): the flagship's update 1.22 -> 0.88 ms (2026-11-27).
    # gSDE's update runs by hand too (_SDESample): RL Zoo's MountainCarContinuous entry ([64,
    # 64], batch 512, torch operations) 3.40 -> 2.60 ms against autograd (numpy 2.82 ms there).

    def on_step(self, num_timesteps: int) -> None:
        self.clock.step = num_timesteps
        # gSDE's E is drawn again for the next action every sde_sample_freq steps into a
        # collection, and when a collection starts (on_collection_end): SB3's collect_rollouts
        self.steps_into_collection += 1
        every = self.config.sde_sample_freq
        if every > 0 and self.steps_into_collection % every == 0:
            self.exploration_matrix = None

    def on_collection_end(self) -> None:
        self.steps_into_collection = 0
        self.exploration_matrix = None

    def update(self, batch: Batch) -> Metrics:
        optimizers = (self.actor_optimizer, self.critic_optimizer, self.alpha_optimizer)
        scheduled = apply_learning_rate_schedule(self.learning_rate_schedule, self.clock, optimizers)
        metrics = self.update_by_hand(batch) if self.hand_networks is not None else self.update_with_autograd(batch)
        return {**metrics, **scheduled}

    def update_with_autograd(self, batch: Batch) -> Metrics:
        batch = batch.to(self.device)
        if self.normalizer is not None:
            batch = dataclasses.replace(batch, observations=self.normalizer.torch(batch.observations),
                                        next_observations=self.normalizer.torch(batch.next_observations))
        alpha = self.temperature()
        if self.discrete:
            critic_loss, actor_loss, expected_log_pi = self._discrete_losses(batch, alpha)
        else:
            critic_loss, actor_loss, expected_log_pi = self._continuous_losses(batch, alpha)
        alpha_loss = self.temperature_loss(expected_log_pi)
        optimizers = [self.critic_optimizer, self.actor_optimizer]
        if alpha_loss is not None:
            optimizers.append(self.alpha_optimizer)
        for optimizer in optimizers:
            optimizer.zero_grad()
        (critic_loss + actor_loss + (0.0 if alpha_loss is None else alpha_loss)).backward()
        for optimizer in optimizers:
            optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(self.target_parameters, self.critic_parameters, self.config.tau)
        self.n_updates += 1
        return {"loss": float(critic_loss.detach()), "actor_loss": float(actor_loss.detach()),
                "alpha_loss": 0.0 if alpha_loss is None else float(alpha_loss.detach()), "alpha": float(alpha)}

    def update_by_hand(self, batch: Batch) -> Metrics:
        """update_with_autograd's continuous arithmetic with the backward pass written out
        (zoo/hand_mlp.py): the same three losses from the same parameters, the same draws in
        the same order, the gradients autograd would leave, then the same optimizer steps. In
        torch operations, or in numpy for small networks (written once for both, as DDPG's)."""
        networks, config = self.hand_networks, self.config
        assert networks is not None
        torso, mean_head = networks["torso"], networks["mean_head"]
        critics = networks["critics"]
        ops: Any = critics.ops  # NumpyOps or TorchOps
        n = len(batch.rewards)
        observations, next_observations = batch.observations.reshape(n, -1), batch.next_observations.reshape(n, -1)
        if self.normalizer is not None:
            observations = self.normalizer.torch(observations)
            next_observations = self.normalizer.torch(next_observations)
        observations, next_observations = ops.array(observations), ops.array(next_observations)
        alpha = float(self.temperature())
        first, second = slice(0, n), slice(n, 2 * n)
        with torch.no_grad():
            # The policy on s and s' in one pass (the same weights; one draw of noise from torch's
            # generator, s's rows first, as _continuous_losses draws it): the reparameterised
            # sample on s, kept for its backward pass, and a' ~ pi(s') for the soft TD target.
            features = torso.forward(ops.concat_rows([observations, next_observations]), keep=True)
            samples: _SquashedSample | _SDESample
            if config.use_sde:  # one E for the whole batch, s and s' alike (SB3's reset_noise per gradient step)
                log_std = self.squashed_actor().log_std
                samples = _SDESample.draw(features, mean_head.forward(features, keep=True), ops.view(log_std),
                                          ops.array(torch.randn(tuple(log_std.shape))), ops.xp)
            else:
                samples = _SquashedSample.draw(mean_head.forward(features, keep=True),
                                               networks["log_std_head"].forward(features, keep=True),
                                               ops.array(torch.randn(2 * n, self.action_dim)), ops.xp)
            sample, next_sample = samples.rows(first), samples.rows(second)
            next_q = networks["target_critics"].forward(ops.concat([next_observations, next_sample.action]))
            td_target = ops.array(batch.rewards) + config.gamma * (1.0 - ops.array(batch.terminated)) * (
                ops.member_min(next_q)[..., 0] - alpha * next_sample.log_prob)
            # critic loss 1/2 sum_i mean((Q_i(s, a) - y)^2): dL/dQ_i = (Q_i - y) / B
            buffer_actions = ops.array(self.box_actions().to_policy(batch.actions))
            td_error = critics.forward(ops.concat([observations, buffer_actions]), keep=True)[..., 0] - td_target
            critic_loss = 0.5 * float((td_error * td_error).mean(1).sum())
            critics.backward((td_error / n)[..., None])
            # actor loss mean(alpha log pi - min_i Q_i(s, a~)) through the same pre-update critics:
            # min's gradient goes to the member it chose, and stops at the action (the critics'
            # weights do not learn from it)
            q_pi = critics.forward(ops.concat([observations, sample.action]), keep=True)[..., 0]
            smallest, chosen = ops.member_min_and_index(q_pi)
            actor_loss = float((alpha * sample.log_prob - smallest).mean())
            action_gradient = critics.backward_to_input(ops.member_one_hot(chosen, len(q_pi), -1.0 / n)[..., None],
                                                        columns=slice(observations.shape[1], None),
                                                        parameter_gradients=False)
            if isinstance(sample, _SDESample):
                mean_gradient, features_gradient, log_std_gradient = sample.backward(action_gradient, alpha / n)
                features_gradient += mean_head.backward_to_input(mean_gradient, rows=first)
                self.sde_log_std_gradient.copy_(torch.as_tensor(log_std_gradient))
            else:
                mean_gradient, log_std_gradient = sample.backward(action_gradient, alpha / n)
                features_gradient = mean_head.backward_to_input(mean_gradient, rows=first)
                features_gradient += networks["log_std_head"].backward_to_input(log_std_gradient, rows=first)
            torso.backward(features_gradient, rows=first)
        optimizers = [self.critic_optimizer, self.actor_optimizer]
        alpha_loss = 0.0
        if self.fixed_alpha is None:  # temperature_loss, -mean(log alpha (log pi + target)), is linear in log alpha
            alpha_gradient = -float((sample.log_prob + self.target_entropy).mean())
            alpha_loss = float(self.log_alpha.detach()) * alpha_gradient
            self.alpha_optimizer.torch_gradients()[0].fill_(alpha_gradient)
            optimizers.append(self.alpha_optimizer)
        ops.step_together(optimizers)
        with torch.no_grad():
            torch._foreach_lerp_(self.target_parameters, self.critic_parameters, self.config.tau)
        self.n_updates += 1
        return {"loss": critic_loss, "actor_loss": actor_loss, "alpha_loss": alpha_loss, "alpha": alpha}

    def temperature_loss(self, log_pi: torch.Tensor) -> torch.Tensor | None:
        """-mean(log alpha * (log pi + target_entropy)): its gradient step grows alpha while the
        policy's entropy (-log pi) is below the target and shrinks it above. None when alpha is fixed."""
        if self.fixed_alpha is not None:
            return None
        return -(self.log_alpha * (log_pi.detach() + self.target_entropy)).mean()

    def _q_frozen(self, inputs: torch.Tensor) -> torch.Tensor:
        """The critics' output with their weights out of the graph: gradients reach the inputs only."""
        self.critics.requires_grad_(False)
        try:
            return self.critics(inputs)
        finally:
            self.critics.requires_grad_(True)

    def _continuous_losses(self, batch: Batch, alpha: torch.Tensor):
        observations, n = batch.observations, len(batch.observations)
        actor = self.squashed_actor()
        if actor.use_sde:  # one E for the whole batch, s and s' alike (SB3's reset_noise per gradient step)
            noise = torch.randn(actor.log_std.shape, device=observations.device)
            noise_on_s, noise_on_next = noise, noise
        else:
            # one standard normal draw for the samples on s and on s', s's rows first
            # (update_by_hand samples both in one pass)
            noise = torch.randn(2 * n, self.action_dim, device=observations.device)
            noise_on_s, noise_on_next = noise[:n], noise[n:]
        pi_actions, log_pi = actor.sample(observations, noise_on_s)
        with torch.no_grad():
            next_actions, next_log_pi = actor.sample(batch.next_observations, noise_on_next)
            next_q = self.target_critics(torch.cat([batch.next_observations, next_actions], 1)).min(0).values
            td_target = batch.rewards + self.config.gamma * (1.0 - batch.terminated) * (
                next_q.squeeze(-1) - alpha * next_log_pi)
        q = self.critics(torch.cat([observations, self.box_actions().to_policy(batch.actions)], 1)).squeeze(-1)
        critic_loss = 0.5 * ((q - td_target) ** 2).mean(1).sum()
        q_pi = self._q_frozen(torch.cat([observations, pi_actions], 1)).min(0).values.squeeze(-1)
        actor_loss = (alpha * log_pi - q_pi).mean()
        return critic_loss, actor_loss, log_pi

    def discrete_td_target(self, batch: Batch, alpha: torch.Tensor) -> torch.Tensor:
        """r + gamma * (1 - terminated) * sum_a' pi(a'|s') (min_i Q'_i(s', a') - alpha log pi(a'|s'))"""
        with torch.no_grad():
            next_log_pi = F.log_softmax(self.actor(batch.next_observations), dim=1)
            next_q = self.target_critics(batch.next_observations).min(0).values
            next_v = (next_log_pi.exp() * (next_q - alpha * next_log_pi)).sum(1)
            return batch.rewards + self.config.gamma * (1.0 - batch.terminated) * next_v

    def _discrete_losses(self, batch: Batch, alpha: torch.Tensor):
        td_target = self.discrete_td_target(batch, alpha)
        q_all = self.critics(batch.observations)  # [2, B, A]
        q = q_all.gather(2, batch.actions.view(1, -1, 1).expand(2, -1, 1)).squeeze(-1)
        critic_loss = 0.5 * ((q - td_target) ** 2).mean(1).sum()
        log_pi = F.log_softmax(self.actor(batch.observations), dim=1)
        pi = log_pi.exp()
        # the expectation over actions needs no gradient through Q: the same forward, detached
        actor_loss = (pi * (alpha * log_pi - q_all.detach().min(0).values)).sum(1).mean()
        return critic_loss, actor_loss, (pi * log_pi).sum(1)  # the last is -entropy per state

    # -- checkpoints -------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {
            **self.clock.state_arrays(), **module_arrays("actor", self.actor), **module_arrays("critics", self.critics),
            **module_arrays("target_critics", self.target_critics),
            **self.actor_optimizer.state_arrays("actor_optimizer"),
            **self.critic_optimizer.state_arrays("critic_optimizer"),
            **self.alpha_optimizer.state_arrays("alpha_optimizer"),
            "log_alpha": self.log_alpha.detach().cpu().numpy().copy(), "n_updates": np.array(self.n_updates),
            **(self.normalizer.state_arrays("observation_statistics") if self.normalizer else {}),
        }

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for name in ("actor", "critics", "target_critics"):
            load_module_arrays(name, getattr(self, name), arrays)
        for name in ("actor_optimizer", "critic_optimizer", "alpha_optimizer"):
            getattr(self, name).load_state_arrays(name, arrays)
        if self.normalizer is not None:
            self.normalizer.load_state_arrays("observation_statistics", arrays)
        if "log_alpha" in arrays:
            with torch.no_grad():
                self.log_alpha.copy_(torch.from_numpy(np.asarray(arrays["log_alpha"], dtype=np.float32)))
        self.n_updates = int(arrays.get("n_updates", 0))
        self.clock.load_state_arrays(arrays)
