"""Algorithm names -> agent class and config dataclass, resolved lazily.

Lazy so that `zoo --help` or `zoo list` never imports torch: an entry names its module and
the module is imported only when the algorithm is used.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass

from zoo.errors import ZooError, did_you_mean


@dataclass(frozen=True)
class AlgoSpec:
    name: str
    module: str  # e.g. "zoo.agents.ucb"
    agent_class: str  # the agent class inside `module`
    config_class: str  # its config dataclass inside `module`
    family: str  # which training loop drives it: "bandit" | "planning" | ...
    summary: str

    def load_agent_class(self) -> type:
        return getattr(importlib.import_module(self.module), self.agent_class)

    def load_config_class(self) -> type:
        return getattr(importlib.import_module(self.module), self.config_class)

    def has_setting(self, name: str) -> bool:
        """Whether its config has the field `name` (n_timesteps, n_envs, backbone, ...)."""
        return name in {field.name for field in dataclasses.fields(self.load_config_class())}

    @property
    def learns_from_experience(self) -> bool:
        """The deep-RL families: a training loop with a learning curve, resumable."""
        return self.family in ("off_policy", "on_policy")


_SPECS = (
    AlgoSpec(
        "epsilon_greedy", "zoo.agents.epsilon_greedy", "EpsilonGreedyAgent", "EpsilonGreedyConfig",
        "bandit", "epsilon-greedy bandit solver with an optimistic initial estimate",
    ),
    AlgoSpec(
        "decaying_epsilon_greedy", "zoo.agents.epsilon_greedy", "DecayingEpsilonGreedyAgent",
        "DecayingEpsilonGreedyConfig", "bandit", "epsilon-greedy with epsilon = 1/t",
    ),
    AlgoSpec(
        "ucb", "zoo.agents.ucb", "UCBAgent", "UCBConfig",
        "bandit", "upper confidence bound bandit solver (Hoeffding bound, p = 1/t)",
    ),
    AlgoSpec(
        "thompson_sampling", "zoo.agents.thompson_sampling", "ThompsonSamplingAgent",
        "ThompsonSamplingConfig", "bandit", "Thompson sampling with Beta posteriors",
    ),
    AlgoSpec(
        "policy_iteration", "zoo.agents.policy_iteration", "PolicyIterationAgent",
        "PolicyIterationConfig", "planning", "dynamic programming: policy evaluation + improvement",
    ),
    AlgoSpec(
        "value_iteration", "zoo.agents.value_iteration", "ValueIterationAgent",
        "ValueIterationConfig", "planning", "dynamic programming: Bellman optimality sweeps",
    ),
    AlgoSpec(
        "dqn", "zoo.agents.dqn", "DQNAgent", "DQNConfig",
        "off_policy", "deep Q-network with replay and a target network",
    ),
    AlgoSpec(
        "double_dqn", "zoo.agents.dqn", "DoubleDQNAgent", "DoubleDQNConfig",
        "off_policy", "DQN whose target action is picked by the online network",
    ),
    AlgoSpec(
        "dueling_dqn", "zoo.agents.dqn", "DuelingDQNAgent", "DuelingDQNConfig",
        "off_policy", "DQN with value and advantage streams",
    ),
    AlgoSpec(
        "vision_dqn", "zoo.agents.vision_dqn", "VisionDQNAgent", "VisionDQNConfig",
        "off_policy", "DQN from frames on a CNN backbone (LeNet ... DenseNet)",
    ),
    AlgoSpec(
        "ddpg", "zoo.agents.ddpg", "DDPGAgent", "DDPGConfig",
        "off_policy", "deep deterministic policy gradient with target networks and action noise",
    ),
    AlgoSpec(
        "sac", "zoo.agents.sac", "SACAgent", "SACConfig",
        "off_policy", "soft actor-critic: twin critics, squashed Gaussian, tuned temperature (discrete too)",
    ),
    AlgoSpec(
        "reinforce", "zoo.agents.reinforce", "ReinforceAgent", "ReinforceConfig",
        "on_policy", "Monte-Carlo policy gradient, one update per episode",
    ),
    AlgoSpec(
        "actor_critic", "zoo.agents.actor_critic", "ActorCriticAgent", "ActorCriticConfig",
        "on_policy", "advantage actor-critic (A2C) on parallel envs, TD(0) to GAE(lambda)",
    ),
)

ALGOS: dict[str, AlgoSpec] = {spec.name: spec for spec in _SPECS}


def normalize_algo_name(name: str) -> str:
    """'Double-DQN' and 'double_dqn' name the same algorithm."""
    return name.strip().lower().replace("-", "_")


def get_algo(name: str) -> AlgoSpec:
    key = normalize_algo_name(name)
    if key not in ALGOS:
        raise ZooError(
            f"Unknown algorithm '{name}'.{did_you_mean(key, ALGOS)} "
            f"Available: {', '.join(ALGOS)} (see `zoo list`)."
        )
    return ALGOS[key]
