"""Algorithm names -> agent class and config dataclass, resolved lazily; variants are aliases.

Lazy so that `zoo --help` or `zoo list` never imports torch: an entry names its module and
the module is imported only when the algorithm is used.

A variant is not a class of its own: `double_dqn` is `dqn` with `double: true`. An alias
names its base algorithm, whose agent class, config class and YAML file it shares, and the
flags it sets by default; its tuned entries live in a section of the base's YAML file under
the alias's name (zoo/config.py). Runs, checkpoints and Hub cards record the name the user
typed. RL Zoo's name for an algorithm zoo names otherwise (a2c) is a synonym, not an alias:
the same algorithm under zoo's name, which its runs and checkpoints record.

Each algorithm states the spaces it supports; an env outside them is refused before any run
folder exists (`check_spaces`). Dict observations are flattened for the MLP agents.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Any

from zoo.errors import ZooError, did_you_mean

FAMILIES = ("bandit", "planning", "off_policy", "on_policy")


@dataclass(frozen=True)
class AlgoSpec:
    name: str
    module: str  # e.g. "zoo.agents.ucb"
    agent_class: str  # the agent class inside `module`
    config_class: str  # its config dataclass inside `module`
    family: str  # which training loop drives it: one of FAMILIES
    summary: str
    observation_spaces: tuple[str, ...]  # "Box", "Dict" (flattened), "Discrete", "image" (uint8 frames), "any"
    action_spaces: tuple[str, ...]  # "Discrete", "Box", ...
    base: str | None = None  # for an alias: the algorithm it is a variant of
    flags: dict[str, Any] = field(default_factory=dict)  # for an alias: the config values it sets

    def load_agent_class(self) -> type:
        return getattr(importlib.import_module(self.module), self.agent_class)

    def load_config_class(self) -> type:
        return getattr(importlib.import_module(self.module), self.config_class)

    @property
    def hyperparams_name(self) -> str:
        """Whose YAML file holds its entries: its own, or its base's for an alias."""
        return self.base or self.name

    def has_setting(self, name: str) -> bool:
        """Whether its config has the field `name` (n_timesteps, n_envs, backbone, ...)."""
        return name in {field.name for field in dataclasses.fields(self.load_config_class())}

    @property
    def learns_from_experience(self) -> bool:
        """The deep-RL families: a training loop with a learning curve, resumable."""
        return self.family in ("off_policy", "on_policy")

    @property
    def flattens_observations(self) -> bool:
        return "Dict" in self.observation_spaces


def alias(name: str, base: AlgoSpec, flags: dict[str, Any], summary: str) -> AlgoSpec:
    return dataclasses.replace(base, name=name, base=base.name, flags=dict(flags), summary=summary)


# An MLP's observations: a Box, or a space flattened to one (zoo.environments.FLATTENED)
_VECTOR = ("Box", "Dict", "Tuple", "Discrete", "MultiDiscrete", "MultiBinary")
_EPSILON_GREEDY = AlgoSpec(
    "epsilon_greedy", "zoo.agents.epsilon_greedy", "EpsilonGreedyAgent", "EpsilonGreedyConfig",
    "bandit", "epsilon-greedy bandit solver with an optimistic initial estimate", ("any",), ("Discrete",),
)
_VALUE_ITERATION = AlgoSpec(
    "value_iteration", "zoo.agents.dynamic_programming", "DynamicProgrammingAgent", "DynamicProgrammingConfig",
    "planning", "dynamic programming: Bellman optimality sweeps", ("Discrete",), ("Discrete",),
)
_DQN = AlgoSpec(
    "dqn", "zoo.agents.dqn", "DQNAgent", "DQNConfig",
    "off_policy", "deep Q-network with replay and a target network", _VECTOR, ("Discrete",),
)
_DDPG = AlgoSpec(
    "ddpg", "zoo.agents.ddpg", "DDPGAgent", "DDPGConfig",
    "off_policy", "deep deterministic policy gradient with target networks and action noise", _VECTOR, ("Box",),
)
# zoo.policies.PolicyNetwork's action spaces (SB3's policies take the same four)
_ON_POLICY_ACTIONS = ("Discrete", "MultiDiscrete", "MultiBinary", "Box")
_SPECS = (
    _EPSILON_GREEDY,
    alias("decaying_epsilon_greedy", _EPSILON_GREEDY, {"decaying": True}, "epsilon-greedy with epsilon = 1/t"),
    AlgoSpec(
        "ucb", "zoo.agents.ucb", "UCBAgent", "UCBConfig",
        "bandit", "upper confidence bound bandit solver (Hoeffding bound, p = 1/t)", ("any",), ("Discrete",),
    ),
    AlgoSpec(
        "thompson_sampling", "zoo.agents.thompson_sampling", "ThompsonSamplingAgent",
        "ThompsonSamplingConfig", "bandit", "Thompson sampling with Beta posteriors", ("any",), ("Discrete",),
    ),
    alias("policy_iteration", _VALUE_ITERATION, {"method": "policy_iteration"},
          "dynamic programming: policy evaluation + improvement"),
    _VALUE_ITERATION,
    _DQN,
    alias("double_dqn", _DQN, {"double": True}, "DQN whose target action is picked by the online network"),
    alias("dueling_dqn", _DQN, {"dueling": True}, "DQN with value and advantage streams"),
    AlgoSpec(
        "vision_dqn", "zoo.agents.vision_dqn", "VisionDQNAgent", "VisionDQNConfig",
        "off_policy", "DQN from frames on a CNN backbone (LeNet ... DenseNet)", ("image",), ("Discrete",),
    ),
    _DDPG,
    alias("td3", _DDPG, {"twin_critics": True, "policy_delay": 2, "target_policy_noise": 0.2,
                         "target_noise_clip": 0.5},
          "twin delayed DDPG: clipped double-Q, target policy smoothing, delayed actor updates"),
    AlgoSpec(
        "sac", "zoo.agents.sac", "SACAgent", "SACConfig", "off_policy",
        "soft actor-critic: twin critics, squashed Gaussian, tuned temperature (discrete too)", _VECTOR,
        ("Box", "Discrete"),
    ),
    AlgoSpec(
        "reinforce", "zoo.agents.reinforce", "ReinforceAgent", "ReinforceConfig",
        "on_policy", "Monte-Carlo policy gradient, one update per episode", _VECTOR, _ON_POLICY_ACTIONS,
    ),
    AlgoSpec(
        "ppo", "zoo.agents.ppo", "PPOAgent", "PPOConfig",
        "on_policy", "proximal policy optimisation: clipped surrogate, GAE, minibatch epochs", _VECTOR,
        _ON_POLICY_ACTIONS,
    ),
    AlgoSpec(
        "actor_critic", "zoo.agents.actor_critic", "ActorCriticAgent", "ActorCriticConfig",
        "on_policy", "advantage actor-critic (A2C) on parallel envs, TD(0) to GAE(lambda)", _VECTOR,
        _ON_POLICY_ACTIONS,
    ),
)

ALGOS: dict[str, AlgoSpec] = {spec.name: spec for spec in _SPECS}


# RL Zoo's names for algorithms zoo names otherwise: an RL Zoo user types `zoo train a2c
# CartPole-v1` (and was offered "sac" as the closest name). No flags: actor_critic is A2C.
RL_ZOO_NAMES = {"a2c": "actor_critic"}
# RL Zoo's algorithms zoo does not have (sb3-contrib's and HER), named in the error for them
RL_ZOO_ONLY = {"qrdqn": "QR-DQN", "tqc": "TQC", "trpo": "TRPO", "ars": "ARS", "ppo_lstm": "recurrent PPO",
               "crossq": "CrossQ", "her": "HER"}


def normalize_algo_name(name: str) -> str:
    """'Double-DQN' and 'double_dqn' name the same algorithm, and RL Zoo's 'a2c' is actor_critic."""
    key = name.strip().lower().replace("-", "_")
    return RL_ZOO_NAMES.get(key, key)


def synonyms_of(name: str) -> list[str]:
    return [synonym for synonym, algo in RL_ZOO_NAMES.items() if algo == name]


def get_algo(name: str) -> AlgoSpec:
    key = normalize_algo_name(name)
    if key in RL_ZOO_ONLY:
        raise ZooError(f"'{name}' is RL Zoo's {RL_ZOO_ONLY[key]}, which zoo does not have. Available: "
                       f"{', '.join(ALGOS)} (see `zoo list`).")
    if key not in ALGOS:
        raise ZooError(
            f"Unknown algorithm '{name}'.{did_you_mean(key, [*ALGOS, *RL_ZOO_NAMES])} "
            f"Available: {', '.join(ALGOS)} (see `zoo list`)."
        )
    return ALGOS[key]


def aliases_of(base: str) -> list[str]:
    return [spec.name for spec in ALGOS.values() if spec.base == base]


# ---- supported spaces ------------------------------------------------------------------


def space_kind(space: Any) -> str:
    """'Box', 'Discrete', 'Dict', ... and 'image' for channel-first uint8 frames [C, H, W]."""
    import gymnasium as gym
    import numpy as np

    if isinstance(space, gym.spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8:
        return "image"
    return type(space).__name__


def check_spaces(spec: AlgoSpec, observation_space: Any, action_space: Any, env_id: str) -> None:
    """Refuse an env whose spaces the algorithm does not support, naming what it supports."""
    observation_kind, action_kind = space_kind(observation_space), space_kind(action_space)
    observations_ok = "any" in spec.observation_spaces or observation_kind in spec.observation_spaces or (
        observation_kind == "image" and "Box" in spec.observation_spaces)  # an MLP takes frames as a vector
    if not observations_ok:
        hint = " (vision_dqn learns from frames)" if spec.name != "vision_dqn" and observation_kind == "image" else ""
        raise ZooError(f"{spec.name} supports {_listed(spec.observation_spaces)} observations, "
                       f"{env_id} has {observation_space}{hint}.")
    if action_kind not in spec.action_spaces:
        from zoo.environments import takes_argument

        # LunarLander and CarRacing have both kinds of actions, by their argument `continuous`
        switch = {"Box": "False", "Discrete": "True"}.get(action_kind)
        hint = (f" (--env-kwargs continuous:{switch} gives it {'Discrete' if switch == 'False' else 'Box'} actions)"
                if switch and takes_argument(env_id, "continuous") else "")
        raise ZooError(f"{spec.name} supports {_listed(spec.action_spaces)} actions, "
                       f"{env_id} has {action_space}{hint}.")


def _listed(kinds: tuple[str, ...]) -> str:
    """'Box and Discrete', 'Box, Dict, Tuple and Discrete'."""
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} and {kinds[-1]}"
