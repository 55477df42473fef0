"""Our configs as Stable-Baselines3 arguments, for `zoo benchmark`'s side-by-side runs; each
translation says where SB3 cannot match us (notes in the report)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

from zoo.environments import EnvDescription

_SB3_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU",
                    "silu": "SiLU"}


def _sb3_dqn(config: Any, action_space: Any) -> tuple[Callable, dict[str, Any], list[str]] | None:
    from stable_baselines3 import DQN
    from torch import nn

    notes = []
    if config.double or config.dueling:
        notes.append("SB3 has no Double or Dueling DQN: SB3's side is its plain DQN.")
    if config.loss != "huber":
        notes.append("SB3's DQN always uses the Huber loss.")
    if config.init != "default":
        notes.append("SB3 keeps PyTorch's default init.")
    kwargs = {
        "learning_rate": _sb3_schedule(config.learning_rate), "buffer_size": config.buffer_size,
        "learning_starts": config.learning_starts, "batch_size": config.batch_size, "tau": config.tau,
        "gamma": config.gamma, "train_freq": config.train_freq, "gradient_steps": config.gradient_steps,
        "target_update_interval": config.target_update_interval,
        "exploration_fraction": config.exploration_fraction,
        "exploration_initial_eps": config.exploration_initial_eps,
        "exploration_final_eps": config.exploration_final_eps,
        "max_grad_norm": config.max_grad_norm if config.max_grad_norm > 0 else float("inf"),
        "policy_kwargs": {"net_arch": list(config.net_arch),
                          "activation_fn": getattr(nn, _SB3_ACTIVATIONS[config.activation])},
    }
    return DQN, kwargs, notes


def _sb3_a2c(config: Any, action_space: Any) -> tuple[Callable, dict[str, Any], list[str]] | None:
    from stable_baselines3 import A2C

    notes = [] if config.use_rms_prop else ["Adam on both sides (use_rms_prop: false); SB3's uses eps 1e-5, ours 1e-8."]
    notes += _normalization_notes(config)
    kwargs = {"learning_rate": _sb3_schedule(config.learning_rate), "use_rms_prop": config.use_rms_prop,
              "rms_prop_eps": config.rms_prop_eps, **_on_policy_kwargs(config)}
    return A2C, kwargs, notes


def _on_policy_kwargs(config: Any) -> dict[str, Any]:
    """What A2C and PPO share: rollout length, returns, loss weights and the two MLPs."""
    from torch import nn

    return {
        "n_steps": config.n_steps, "gamma": config.gamma, "gae_lambda": config.gae_lambda,
        "ent_coef": config.ent_coef, "vf_coef": config.vf_coef,
        "max_grad_norm": config.max_grad_norm if config.max_grad_norm > 0 else float("inf"),
        "normalize_advantage": config.normalize_advantage,
        "use_sde": config.use_sde, "sde_sample_freq": config.sde_sample_freq,
        "policy_kwargs": {"net_arch": {"pi": list(config.net_arch), "vf": list(config.net_arch)},
                          "activation_fn": getattr(nn, _SB3_ACTIVATIONS[config.activation]),
                          "ortho_init": config.init == "orthogonal", "log_std_init": config.log_std_init},
    }


def _normalization_notes(config: Any) -> list[str]:
    if config.normalize_observations or config.normalize_rewards:
        return ["SB3 normalises with VecNormalize, updating its statistics every step; ours are frozen during a "
                "rollout and take it in after the update."]
    return []


def _sb3_schedule(value: Any) -> Any:
    """Our `lin_<start>` as SB3's callable of the remaining progress (RL Zoo's linear_schedule)."""
    from zoo.schedules import parse_schedule

    kind, start = parse_schedule(value, "schedule")
    return (lambda progress_remaining: progress_remaining * start) if kind == "linear" else start


def _sb3_ppo(config: Any, action_space: Any) -> tuple[Callable, dict[str, Any], list[str]] | None:
    from stable_baselines3 import PPO

    notes = _normalization_notes(config)
    kwargs = {
        "learning_rate": _sb3_schedule(config.learning_rate), "clip_range": _sb3_schedule(config.clip_range),
        "batch_size": config.batch_size, "n_epochs": config.n_epochs, "clip_range_vf": config.clip_range_vf,
        "target_kl": config.target_kl, **_on_policy_kwargs(config),
    }
    return PPO, kwargs, notes


def _off_policy_kwargs(config: Any) -> dict[str, Any]:
    from torch import nn

    return {
        "learning_rate": _sb3_schedule(config.learning_rate), "buffer_size": config.buffer_size,
        "learning_starts": config.learning_starts, "batch_size": config.batch_size, "tau": config.tau,
        "gamma": config.gamma, "train_freq": config.train_freq, "gradient_steps": config.gradient_steps,
        "policy_kwargs": {"net_arch": list(config.net_arch),
                          "activation_fn": getattr(nn, _SB3_ACTIVATIONS[config.activation])},
    }


def _sb3_sac(config: Any, action_space: Any) -> tuple[Callable, dict[str, Any], list[str]] | None:
    from gymnasium.spaces import Discrete
    from stable_baselines3 import SAC

    if isinstance(action_space, Discrete):
        return None  # SB3's SAC has no discrete form

    kwargs = _off_policy_kwargs(config)
    kwargs["ent_coef"] = config.ent_coef if config.ent_coef is not None else f"auto_{config.initial_alpha}"
    kwargs["target_entropy"] = "auto" if config.target_entropy is None else config.target_entropy
    if config.use_sde:  # SB3's own defaults otherwise: the same as ours
        kwargs.update(use_sde=True, sde_sample_freq=config.sde_sample_freq, use_sde_at_warmup=config.use_sde_at_warmup)
        kwargs["policy_kwargs"]["log_std_init"] = config.log_std_init
    return SAC, kwargs, []


def _sb3_ddpg(config: Any, action_space: Any) -> tuple[Callable, dict[str, Any], list[str]] | None:
    from stable_baselines3 import DDPG, TD3
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    kwargs = _off_policy_kwargs(config)
    td3 = config.twin_critics or config.policy_delay > 1 or config.target_policy_noise > 0
    n = int(np.prod(action_space.shape))
    sigma = np.full(n, config.noise_std)
    if config.noise == "normal":
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n), sigma)
    elif config.noise == "ornstein_uhlenbeck":
        kwargs["action_noise"] = OrnsteinUhlenbeckActionNoise(np.zeros(n), sigma, theta=config.noise_theta)
    if not td3:
        return DDPG, kwargs, []
    # SB3's DDPG is its TD3 with one critic, no delay and no smoothing: any of the three is TD3
    kwargs.update(policy_delay=config.policy_delay, target_policy_noise=config.target_policy_noise,
                  target_noise_clip=config.target_noise_clip)
    kwargs["policy_kwargs"]["n_critics"] = 2 if config.twin_critics else 1
    return TD3, kwargs, []


# By base algorithm: an alias (double_dqn) is translated with its base's function, which
# reads the flags from the config.
SB3_EQUIVALENTS: dict[str, Callable] = {"dqn": _sb3_dqn, "actor_critic": _sb3_a2c, "sac": _sb3_sac,
                                        "ddpg": _sb3_ddpg, "ppo": _sb3_ppo}


def sb3_available() -> bool:
    return importlib.util.find_spec("stable_baselines3") is not None


class SB3Player:
    """Gives an SB3 model the zoo protocol's take_action, so both are evaluated by one function."""

    def __init__(self, model):
        self.model = model
        self.normalization = model.get_vec_normalize_env()  # VecNormalize's statistics, when trained with them

    def take_action(self, observation, deterministic=False):
        if self.normalization is not None:
            observation = self.normalization.normalize_obs(observation)
        action, _ = self.model.predict(observation, deterministic=deterministic)
        return action.item() if np.ndim(action) == 0 else action



def sb3_env(env: EnvDescription, n_envs: int, seed: int, config: Any = None) -> Any:
    """The same env for SB3: one, or SB3's own vector env of n_envs (with our wrappers), under
    VecNormalize when a PPO or A2C config normalises observations or rewards (RL Zoo's `normalize`).
    (DDPG and SAC normalise inside the agent, on replayed batches: SB3 has no counterpart.)"""
    normalize_observations = bool(getattr(config, "normalize_observations", False))
    normalize_rewards = bool(getattr(config, "normalize_rewards", False))
    normalize = hasattr(config, "normalize_rewards") and (normalize_observations or normalize_rewards)
    if n_envs == 1 and not normalize:
        return env.make()
    from stable_baselines3.common.env_util import make_vec_env

    vector = make_vec_env(lambda: env.make(), n_envs=n_envs, seed=seed)
    if not normalize:
        return vector
    from stable_baselines3.common.vec_env import VecNormalize

    return VecNormalize(vector, norm_obs=normalize_observations, norm_reward=normalize_rewards,
                        gamma=getattr(config, "gamma", 0.99))


