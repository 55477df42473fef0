"""Training's periodic evaluation plays its episodes in lockstep (zoo.evaluation.evaluate_in_lockstep):
the same episodes as one env at a time, on copies of the env or on the env's own vector version."""

import gymnasium as gym
import numpy as np
import pytest

import envs
from helpers import DictCartPole, new_agent
from zoo.environments import EnvDescription
from zoo.evaluation import evaluate_agent, evaluate_in_lockstep

gym.register_envs(envs)


class PoleController:
    """A fixed CartPole policy that keeps the pole up for a while, then loses it: episodes of
    varied lengths, some ended by the time limit. Its batched and single actions are the same
    arithmetic, row by row."""

    def __init__(self):
        self.calls = []

    def take_action(self, observation, deterministic=False):
        return int(self.greedy_actions(np.asarray(observation)[None])[0])

    def greedy_actions(self, observations):
        self.calls.append(len(observations))
        observations = np.asarray(observations, dtype=np.float64)
        x, x_speed, angle, angle_speed = observations.T
        return (angle + 0.25 * angle_speed - 0.1 * x_speed - 0.05 * x > 0).astype(np.int64)


def test_copies_play_the_episodes_one_env_at_a_time_would_dealt_up_front():
    # 7 episodes on 3 copies: copy i plays episodes i, i + 3, ... (3, 2, 2), whatever their lengths
    copies = [gym.make("CartPole-v1") for _ in range(3)]
    for index, env in enumerate(copies):
        env.reset(seed=40 + index)
    player = PoleController()
    lockstep = evaluate_in_lockstep(player, copies, 7)
    assert max(player.calls) == 3  # one batched call per step for the running episodes
    one_at_a_time = []
    for index, episodes in enumerate([3, 2, 2]):
        env = gym.make("CartPole-v1")
        env.reset(seed=40 + index)
        one_at_a_time += evaluate_agent(PoleController(), env, episodes).returns
    assert sorted(lockstep.returns) == sorted(one_at_a_time)
    assert len(set(lockstep.returns)) > 2 and max(lockstep.returns) == 500.0  # varied, one truncated
    assert lockstep.lengths == [int(r) for r in lockstep.returns]


class FromStates(gym.vector.VectorWrapper):
    """CartPole's vector env started from given (float64) states at every reset."""

    def __init__(self, env, states):
        super().__init__(env)
        self.states = states

    def reset(self, **kwargs):
        self.env.reset(**kwargs)
        self.env.unwrapped.state = self.states.copy()
        return self.states.T.astype(np.float32), {}


def test_cartpoles_vector_env_plays_the_same_episodes_as_the_single_env():
    states = np.random.default_rng(0).uniform(-0.05, 0.05, size=(4, 6))
    vector = FromStates(gym.make_vec("CartPole-v1", num_envs=6, vectorization_mode="vector_entry_point"), states)
    lockstep = evaluate_in_lockstep(PoleController(), vector, 6)
    single = []
    for column in states.T:
        env = gym.make("CartPole-v1")
        env.reset(seed=0)
        env.unwrapped.state = column.copy()
        single += evaluate_agent(PoleController(), _Started(env, column), 1).returns
    assert sorted(lockstep.returns) == sorted(single)
    assert len(set(single)) > 2 and 500.0 in single


class _Started(gym.Wrapper):
    """A single CartPole whose (one) reset keeps the state set by hand."""

    def __init__(self, env, state):
        super().__init__(env)
        self.state = state

    def reset(self, **kwargs):
        self.env.reset(**kwargs)
        self.env.unwrapped.state = self.state.copy()
        return self.state.astype(np.float32), {}


def test_the_step_that_resets_a_vector_sub_env_is_not_counted():
    # 3 sub-envs for 8 episodes: each sub-env plays 2 or 3 in a row through next-step autoreset;
    # CartPole pays 1 per step, so a counted reset step would show as a return != length
    vector = gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="vector_entry_point")
    vector.reset(seed=3)
    result = evaluate_in_lockstep(PoleController(), vector, 8)
    assert len(result.returns) == 8
    assert result.returns == [float(n) for n in result.lengths]
    assert min(result.lengths) >= 8


gym.register("test/DictCartPoleWithVector-v0", entry_point=DictCartPole,
             vector_entry_point="gymnasium.envs.classic_control.cartpole:CartPoleVectorEnv")


@pytest.mark.parametrize("description, expected", [
    (EnvDescription("CartPole-v1"), "vector"),
    # what training's agents ask for: a Box observation needs no flattening (the DQN family's
    # evaluations played on copies until 2026-11-26 because of this flag)
    (EnvDescription("CartPole-v1", flatten_observations=True), "vector"),
    # flattened to the same Box(4) as its vector version: only its spaces would pass
    (EnvDescription("test/DictCartPoleWithVector-v0", flatten_observations=True), "copies"),
    (EnvDescription("CartPole-v1", env_kwargs={"sutton_barto_reward": True}), "copies"),  # only the plain env
    (EnvDescription("CartPole-v1", wrappers=("time_aware_observation",)), "copies"),
    (EnvDescription("Pendulum-v1"), "copies"),  # no vector version
    (EnvDescription("envs:CliffWalking4x12-v0"), "copies"),  # a package's env named with its package
])
def test_evaluation_envs_are_the_vector_version_only_for_the_plain_env(description, expected):
    made = description.make_for_evaluation(4)
    try:
        if expected == "vector":
            assert isinstance(made, gym.vector.VectorEnv) and made.num_envs == 4
        else:
            assert isinstance(made, list) and len(made) == 4
            assert made[0].observation_space == description.make().observation_space
    finally:
        for env in made if isinstance(made, list) else [made]:
            env.close()


def test_an_image_pipeline_evaluates_on_one_env():
    agent, _, description = new_agent("vision_dqn")
    made = description.make_for_evaluation(10)
    assert isinstance(made, list) and len(made) == 1
    made[0].reset(seed=0)
    result = evaluate_in_lockstep(agent, made, 2)
    assert len(result.returns) == 2
