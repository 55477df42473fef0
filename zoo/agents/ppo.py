"""PPO (Schulman et al. 2017), clipped surrogate objective, as SB3 and CleanRL implement it.

From each rollout of n_steps x n_envs (log pi(a|s) and V(s) stored when the actions were
sampled, not recomputed):
    A_t      = GAE(lambda), bootstrapping a truncated episode from the value it was cut at
    then n_epochs passes over shuffled minibatches of batch_size, each one Adam step of
    ratio    = pi(a|s) / pi_old(a|s)
    L_clip   = -mean(min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A))   (A standardised per minibatch)
    L_value  = mean((R - V)^2), V clipped to V_old +- clip_range_vf when that is set
    loss     = L_clip + vf_coef * L_value - ent_coef * entropy
with gradient-norm clipping, and an early stop of the epochs once the approximate KL
(SB3's estimator, mean((ratio - 1) - log ratio)) exceeds 1.5 * target_kl.

`learning_rate` and `clip_range` take a constant or RL Zoo's linear schedule `lin_<start>`,
which falls from start to 0 over the run's budget (n_timesteps). A resumed run whose --steps
raise the budget goes on from the value the schedule had reached and falls to 0 at the new
end (`schedule_anchor` in the checkpoint: the step and remaining fraction it starts from).

`normalize_observations` (and `normalize_rewards`, by the running std of the discounted
return, as VecNormalize) keep running statistics that are saved in the checkpoint. They are
frozen while a rollout is collected and trained on, and take in its data after the update,
so the observations an update sees are exactly those the stored log-probabilities saw.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from zoo.advantages import gae
from zoo.agent import BaseAgent
from zoo.contracts import ActionBatch, Metrics, OnPolicyConfig, Rollout
from zoo.networks import ActivationName, InitName, NumpyForward
from zoo.normalization import RolloutNormalization
from zoo.optim import ClippedAdam
from zoo.policies import PolicyNetwork, value_network
from zoo.schedules import Schedule, ScheduleClock, parse_schedule
from zoo.torch_state import load_module_arrays, module_arrays


@dataclass
class PPOConfig(OnPolicyConfig):
    # Defaults are SB3's PPO.
    n_envs: int = 1
    n_steps: int = 2048  # steps per env per rollout
    # minibatch size; above a rollout (n_steps * n_envs) the minibatch is the whole rollout, as
    # in SB3 (which warns): RL Zoo's tuned entries have such (MountainCarContinuous: 256 of 8)
    batch_size: int = 64
    n_epochs: int = 10  # passes over each rollout
    learning_rate: Schedule = 3e-4  # Adam step size: a number or lin_<start>
    clip_range: Schedule = 0.2  # the surrogate's epsilon: a number or lin_<start>
    clip_range_vf: float | None = None  # value clipping around the collection-time values (None: off)
    gae_lambda: float = 0.95
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5  # gradient-norm clipping over both networks (0: none)
    target_kl: float | None = None  # stop the epochs once approx KL > 1.5 * target_kl (None: never)
    normalize_advantage: bool = True  # standardise advantages per minibatch
    normalize_observations: bool = False  # running mean/std of observations (saved)
    normalize_rewards: bool = False  # rewards / running std of the discounted return (saved)
    net_arch: list[int] = field(default_factory=lambda: [64, 64])  # actor and critic each
    activation: ActivationName = "tanh"
    init: InitName = "orthogonal"  # SB3's gains: sqrt(2) hidden, 0.01 policy head, 1 value head
    log_std_init: float = 0.0  # Box actions: initial log std of the Gaussian

    def __post_init__(self):
        super().__post_init__()
        if self.n_steps < 1:
            raise ValueError("ppo bootstraps from its critic: n_steps must be at least 1")
        if self.batch_size < 1 or self.n_epochs < 1:
            raise ValueError(f"batch_size and n_epochs must be at least 1, got {self.batch_size} and {self.n_epochs}")
        parse_schedule(self.learning_rate, "learning_rate")
        parse_schedule(self.clip_range, "clip_range")
        if self.clip_range_vf is not None and self.clip_range_vf <= 0:
            raise ValueError(f"clip_range_vf must be > 0 (or null: off), got {self.clip_range_vf}")
        if self.target_kl is not None and self.target_kl <= 0:
            raise ValueError(f"target_kl must be > 0 (or null: off), got {self.target_kl}")


class PPOAgent(BaseAgent):
    algo = "ppo"
    uses_torch = True

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: PPOConfig, **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        if self.seed is not None:
            torch.manual_seed(self.seed)
        self.policy = PolicyNetwork(observation_space, action_space, config.net_arch, config.activation,
                                    config.init, config.log_std_init, self.device, use_sde=config.use_sde,
                                    sde_sample_freq=config.sde_sample_freq)
        self.observation_shape: tuple[int, ...] = tuple(observation_space.shape or ())
        self.value_network = value_network(observation_space, config.net_arch, config.activation, config.init,
                                           self.device)
        self.numpy_value = NumpyForward.build(self.value_network)  # None on a GPU
        parameters = list(self.policy.parameters()) + list(self.value_network.parameters())
        self.learning_rate_schedule = parse_schedule(config.learning_rate, "learning_rate")
        self.clip_range_schedule = parse_schedule(config.clip_range, "clip_range")
        self.optimizer = ClippedAdam(parameters, self.learning_rate_schedule[1], config.max_grad_norm)
        self.normalization = RolloutNormalization(self.observation_shape, config.gamma,
                                                  observations=config.normalize_observations,
                                                  rewards=config.normalize_rewards)
        # the schedules' step: env steps of the rollouts learned from
        self.clock: ScheduleClock = ScheduleClock(config.n_timesteps)
        self.n_updates = 0

    # -- acting ------------------------------------------------------------------------

    def take_action(self, observation: Any, deterministic: bool = False):
        return self.policy.act(self.normalization(self.checked_observation(observation, self.observation_shape)),
                               deterministic)

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        return self.policy.deterministic_batch(self.normalization(self.observation_batch(observations,
                                                                                         self.observation_shape)))

    def act_batch(self, observations: np.ndarray) -> ActionBatch:
        inputs = self.normalization(self.observation_batch(observations, self.observation_shape))
        sampled = self.policy.sample_with_log_probs(inputs, self.np_random)
        if sampled is not None and self.numpy_value is not None:  # on the CPU: numpy, ~10x faster per call
            actions, log_probs = sampled
            values = self.numpy_value(inputs.reshape(len(inputs), -1))[:, 0]
            return ActionBatch(actions, self.policy.to_env(actions), log_probs, values.astype(np.float32))
        with torch.inference_mode():  # on a GPU
            batch = torch.as_tensor(inputs).to(self.device)
            action_tensor, log_prob_tensor = self.policy.sample_with_log_probs_torch(batch)
            value_tensor = self.value_network(batch.flatten(1)).squeeze(-1)
        chosen = action_tensor.cpu().numpy()
        return ActionBatch(chosen, self.policy.to_env(chosen), log_prob_tensor.cpu().numpy(),
                           value_tensor.cpu().numpy())

    # -- learning ----------------------------------------------------------------------

    def update(self, rollout: Rollout) -> Metrics:
        self.policy.new_rollout()  # gSDE draws its noise again for the next rollout
        config = self.config
        steps, n_envs = rollout.rewards.shape
        if rollout.log_probs is None or rollout.values is None:
            raise ValueError("ppo learns from rollouts collected by its own act_batch (log-probs and values)")
        self.clock.step += steps * n_envs
        # SB3 reads the schedules once per rollout, at the progress reached after collecting it
        learning_rate = self.clock.value(self.learning_rate_schedule)
        clip_range = self.clock.value(self.clip_range_schedule)
        self.optimizer.set_learning_rate(learning_rate)
        on_device = functools.partial(torch.as_tensor, device=self.device)

        observations = self.normalization(rollout.observations.reshape(steps * n_envs, -1))
        next_observations = self.normalization(rollout.next_observations.reshape(steps * n_envs, -1))
        rewards = self.normalization.scaled_rewards(rollout.rewards, rollout.terminated, rollout.truncated)
        with torch.no_grad():  # V(s') by the network that collected the rollout (it has not changed since)
            next_values = self.value_network(on_device(next_observations)).squeeze(-1).cpu().numpy()
        advantages_array, returns_array = gae(rewards, rollout.values.astype(np.float64),
                                              next_values.reshape(steps, n_envs), rollout.terminated,
                                              rollout.truncated, config.gamma, config.gae_lambda)
        data = {
            "observations": on_device(observations),
            "actions": on_device(rollout.actions.reshape(steps * n_envs, *rollout.actions.shape[2:])),
            "old_log_probs": on_device(rollout.log_probs.reshape(-1)),
            "old_values": on_device(rollout.values.reshape(-1)),
            "advantages": on_device(advantages_array.reshape(-1), dtype=torch.float32),
            "returns": on_device(returns_array.reshape(-1), dtype=torch.float32),
        }
        metrics = self.train_epochs(data, clip_range)
        # the statistics take in this rollout only now: it was collected and learned under the old ones
        self.normalization.take_in(rollout.observations)
        returns, values = returns_array.reshape(-1), rollout.values.reshape(-1)
        variance = float(np.var(returns))
        if variance > 0:  # constant returns leave it undefined (SB3 logs NaN; a NaN here would stop the run)
            metrics["explained_variance"] = 1.0 - float(np.var(returns - values)) / variance
        metrics.update(learning_rate=learning_rate, clip_range=clip_range)
        self.n_updates += 1
        return metrics

    def train_epochs(self, data: dict[str, torch.Tensor], clip_range: float) -> Metrics:
        """n_epochs passes of shuffled minibatches; the losses are means over every minibatch taken."""
        config = self.config
        size = len(data["advantages"])
        names = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")
        taken: list[torch.Tensor] = []  # each minibatch's detached losses, read back once at the end
        epochs_done = 0
        stop = False
        for _ in range(config.n_epochs):
            order = torch.randperm(size, device=self.device)
            for start in range(0, size, config.batch_size):
                batch = {name: tensor[order[start:start + config.batch_size]] for name, tensor in data.items()}
                losses = self.minibatch_losses(batch, clip_range)
                # SB3's early stop: checked before the step, which is then not taken (a sync, only when asked)
                if config.target_kl is not None and float(losses["approx_kl"]) > 1.5 * config.target_kl:
                    stop = True
                    break
                self.optimizer.zero_grad()
                losses["loss"].backward()
                self.optimizer.step()
                taken.append(torch.stack([losses[name] for name in names]))
            if stop:
                break
            epochs_done += 1
        means = torch.stack(taken).mean(0).tolist() if taken else [0.0] * len(names)
        metrics = dict(zip(names, means))
        metrics["epochs"] = float(epochs_done)
        metrics["loss"] = metrics["policy_loss"] + config.vf_coef * metrics["value_loss"] - \
            config.ent_coef * metrics["entropy"]
        return metrics

    def minibatch_losses(self, batch: dict[str, torch.Tensor], clip_range: float) -> dict[str, torch.Tensor]:
        """The clipped surrogate, the (clipped) value loss and the entropy of one minibatch."""
        config = self.config
        log_probs, entropy = self.policy.log_prob_and_entropy(batch["observations"], batch["actions"])
        advantages = batch["advantages"]
        if config.normalize_advantage and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        log_ratio = log_probs - batch["old_log_probs"]
        ratio = log_ratio.exp()
        policy_loss = -torch.min(advantages * ratio, advantages * ratio.clamp(1 - clip_range, 1 + clip_range)).mean()
        values = self.value_network(batch["observations"]).squeeze(-1)
        if config.clip_range_vf is not None:
            old = batch["old_values"]
            values = old + (values - old).clamp(-config.clip_range_vf, config.clip_range_vf)
        value_loss = F.mse_loss(batch["returns"], values)
        loss = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy.mean()
        with torch.no_grad():
            approx_kl = ((ratio - 1) - log_ratio).mean()
            clip_fraction = ((ratio - 1).abs() > clip_range).float().mean()
        return {"loss": loss, "policy_loss": policy_loss.detach(), "value_loss": value_loss.detach(),
                "entropy": entropy.mean().detach(), "approx_kl": approx_kl, "clip_fraction": clip_fraction}

    # -- checkpoints -------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {
            **module_arrays("policy", self.policy), **module_arrays("value_network", self.value_network),
            **self.optimizer.state_arrays("optimizer"), "n_updates": np.array(self.n_updates),
            **self.clock.state_arrays(),
            **self.normalization.state_arrays(),
        }

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        load_module_arrays("policy", self.policy, arrays)
        load_module_arrays("value_network", self.value_network, arrays)
        self.optimizer.load_state_arrays("optimizer", arrays)
        self.n_updates = int(arrays.get("n_updates", 0))
        self.clock.load_state_arrays(arrays)
        self.normalization.load_state_arrays(arrays)
