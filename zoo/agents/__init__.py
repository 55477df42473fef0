"""One file per algorithm; `zoo.registry` maps names to them."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for mypy only: every agent class honours its family's protocol (zoo.contracts)
    from zoo.agents.actor_critic import ActorCriticAgent
    from zoo.agents.ddpg import DDPGAgent
    from zoo.agents.dqn import DQNAgent
    from zoo.agents.dynamic_programming import DynamicProgrammingAgent
    from zoo.agents.epsilon_greedy import EpsilonGreedyAgent
    from zoo.agents.ppo import PPOAgent
    from zoo.agents.reinforce import ReinforceAgent
    from zoo.agents.sac import SACAgent
    from zoo.agents.thompson_sampling import ThompsonSamplingAgent
    from zoo.agents.ucb import UCBAgent
    from zoo.agents.vision_dqn import VisionDQNAgent
    from zoo.contracts import BanditAgent, OffPolicyAgent, OnPolicyAgent, PlanningAgent

    def _families(bandits: tuple[EpsilonGreedyAgent, UCBAgent, ThompsonSamplingAgent],
                  planner: DynamicProgrammingAgent, off_policy: tuple[DQNAgent, VisionDQNAgent, DDPGAgent, SACAgent],
                  on_policy: tuple[ReinforceAgent, ActorCriticAgent, PPOAgent]
                  ) -> tuple[list[BanditAgent], PlanningAgent, list[OffPolicyAgent], list[OnPolicyAgent]]:
        return [*bandits], planner, [*off_policy], [*on_policy]
