"""The structure's promises: aliases and their precedence, callbacks, supported spaces, envs
handed in, and the family contracts' edge cases (truncation, episode ends)."""

import json

import gymnasium as gym
import numpy as np
import pytest
import yaml

from helpers import DictCartPole, new_agent, quiet_monitor
from zoo.build import load_agent
from zoo.callbacks import Callback
from zoo.config import resolve_hyperparams
from zoo.environments import make_vector_env
from zoo.errors import ZooError
from zoo.loops.on_policy import RolloutCollector
from zoo.registry import ALGOS, get_algo
from zoo.train import train

QUICK = {"eval_freq": 0, "stop_at_return": None}


# ---- aliases -----------------------------------------------------------------------------


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def test_alias_precedence_from_defaults_to_the_command_line(tmp_path):
    # Each layer sets learning_rate (and one field of its own) so the winner of each is visible.
    write(tmp_path / "dqn.yml", {
        "default": {"learning_rate": 0.1, "batch_size": 11, "double": False},
        "CartPole-v1": {"learning_rate": 0.3, "train_freq": 7},
        "double_dqn": {"default": {"learning_rate": 0.2, "tau": 0.5},
                       "CartPole-v1": {"learning_rate": 0.4, "gradient_steps": 3}},
    })
    resolved = resolve_hyperparams(get_algo("double_dqn"), "CartPole-v1", {"learning_rate": 0.5}, tmp_path)
    config = resolved.config
    assert config.double is True  # alias flags beat the file's default
    assert (config.batch_size, config.tau, config.train_freq, config.gradient_steps) == (11, 0.5, 7, 3)
    assert config.learning_rate == 0.5  # --hp last
    assert resolved.sources == ["dqn.yml [default]".replace("dqn.yml", str(tmp_path / "dqn.yml")),
                                "double_dqn's flags (zoo.registry)",
                                f"{tmp_path / 'dqn.yml'} [double_dqn][default]",
                                f"{tmp_path / 'dqn.yml'} [CartPole-v1]",
                                f"{tmp_path / 'dqn.yml'} [double_dqn][CartPole-v1]", "--hp"]
    without_hp = resolve_hyperparams(get_algo("double_dqn"), "CartPole-v1", None, tmp_path).config
    assert without_hp.learning_rate == 0.4  # the alias's env entry beats the base's
    base = resolve_hyperparams(get_algo("dqn"), "CartPole-v1", None, tmp_path).config
    assert (base.double, base.learning_rate, base.tau) == (False, 0.3, 1.0)  # the section is the alias's only
    other_env = resolve_hyperparams(get_algo("double_dqn"), "Acrobot-v1", None, tmp_path).config
    assert other_env.learning_rate == 0.2  # the alias's default beats the file's default


def test_an_alias_section_error_names_it(tmp_path):
    write(tmp_path / "dqn.yml", {"double_dqn": {"CartPole-v1": {"learnin_rate": 0.1}}})
    with pytest.raises(ZooError, match=r"\[double_dqn\]\[CartPole-v1\]: unknown hyperparameter 'learnin_rate'"):
        resolve_hyperparams(get_algo("double_dqn"), "CartPole-v1", None, tmp_path)


def test_every_alias_shares_its_base_class_and_sets_only_flags():
    for spec in ALGOS.values():
        if spec.base is None:
            continue
        base = ALGOS[spec.base]
        assert (spec.module, spec.agent_class, spec.config_class) == (base.module, base.agent_class, base.config_class)
        assert spec.flags and all(spec.has_setting(flag) for flag in spec.flags)


def test_runs_and_checkpoints_record_the_alias_name(tmp_path):
    result = train("dueling_dqn", "CartPole-v1", seed=0, n_timesteps=200, overrides=QUICK, out_dir=tmp_path)
    assert result.run_dir.parent.name == "dueling_dqn"
    assert yaml.safe_load((result.run_dir / "config.yml").read_text())["algo"] == "dueling_dqn"
    loaded = load_agent(result.checkpoint, algo="dueling_dqn")
    assert loaded.algo == "dueling_dqn" and loaded.config.dueling and not loaded.config.double
    with pytest.raises(ZooError, match="holds a 'dueling_dqn' agent, not 'dqn'"):
        load_agent(result.checkpoint, algo="dqn")
    from zoo.hub import Showing, package

    folder = package(loaded, "CartPole-v1", "me/dueling", tmp_path / "card", Showing(episodes=1, video=False))
    assert "dueling_dqn" in (folder / "README.md").read_text()
    assert json.loads((folder / "results.json").read_text())["algo"] == "dueling_dqn"


def test_policy_iteration_is_value_iterations_agent_with_another_method(tmp_path):
    policy = train("policy_iteration", "CliffWalking4x12-v0", seed=0, out_dir=tmp_path)
    value = train("value_iteration", "CliffWalking4x12-v0", seed=0, out_dir=tmp_path)
    assert policy.agent.config.method == "policy_iteration" and value.agent.config.method == "value_iteration"
    assert "policy_changes" in policy.agent.history[0] and "delta" in value.agent.history[0]
    np.testing.assert_array_equal(policy.agent.policy, value.agent.policy)


@pytest.mark.parametrize("field", ["max_iterations", "max_evaluation_sweeps"])
def test_planners_refuse_zero_iterations(field, tmp_path):
    with pytest.raises(ZooError, match=f"{field} must be at least 1"):
        train("policy_iteration", "CliffWalking4x12-v0", overrides={field: 0}, out_dir=tmp_path)
    assert not (tmp_path / "policy_iteration").exists()


# ---- callbacks ---------------------------------------------------------------------------


class Recorder(Callback):
    def __init__(self, stop_after_episodes=None):
        self.stop_after_episodes = stop_after_episodes
        self.started = self.ended = None
        self.steps, self.episodes, self.evaluations = [], [], []

    def on_training_start(self, agent, start_step, total_steps):
        self.started = (agent.algo, start_step, total_steps)

    def on_step(self, step):
        self.steps.append(step)
        return False

    def on_episode_end(self, step, episode):
        self.episodes.append((step, episode.number, episode.length))
        return self.stop_after_episodes is not None and episode.number >= self.stop_after_episodes

    def on_evaluation(self, step, evaluation):
        self.evaluations.append((step, evaluation.mean_return))
        return False

    def on_training_end(self, step):
        self.ended = step


@pytest.mark.parametrize("algo", ["dqn", "actor_critic"])
def test_callbacks_see_every_step_episode_and_evaluation_and_can_stop(algo, tmp_path):
    recorder = Recorder(stop_after_episodes=3)
    # A2C on SB3's 8 envs x 5 steps and the v0_2 entry's policy: it stops at the end of the rollout
    # in which the third episode ended, and the episodes that end in that rollout are told too
    result = train(algo, "CartPole-v1", seed=0, n_timesteps=5000, out_dir=tmp_path, callbacks=[recorder],
                   hyperparams="v0_2" if algo == "actor_critic" else None,
                   overrides={"eval_freq": 40, "n_eval_episodes": 1, "stop_at_return": None,
                              **({"n_envs": 8, "n_steps": 5} if algo == "actor_critic" else {})})
    assert recorder.started == (algo, 0, 5000)
    numbers = [number for _, number, _ in recorder.episodes]
    assert len(numbers) >= 3 and numbers == list(range(1, len(numbers) + 1))
    stopped_at, third_ended_at = result.summary["steps"], recorder.episodes[2][0]
    rollout = 8 * 5 if algo == "actor_critic" else 1  # env steps collected between two updates
    assert third_ended_at <= stopped_at < third_ended_at + rollout  # stopped where the third episode ended
    assert len(numbers) == 3 or algo == "actor_critic"  # DQN: at that very step
    assert recorder.ended == stopped_at and stopped_at < 5000
    n_envs = result.agent.config.n_envs if algo == "actor_critic" else 1
    assert recorder.steps == list(range(n_envs, stopped_at + 1, n_envs))
    assert recorder.evaluations and all(step % 40 < n_envs * 5 for step, _ in recorder.evaluations)
    assert result.checkpoint.exists()  # a callback's stop saves like Ctrl-C


@pytest.mark.parametrize("streak", [1, 3])
def test_training_stops_after_stop_streak_evaluations_in_a_row_reach_stop_at_return(streak, tmp_path):
    recorder = Recorder()
    # every CartPole episode lasts at least 8 steps: each evaluation reaches 8
    result = train("dqn", "CartPole-v1", seed=0, n_timesteps=2000, out_dir=tmp_path, callbacks=[recorder],
                   overrides={"eval_freq": 40, "n_eval_episodes": 1, "stop_at_return": 8, "stop_streak": streak,
                              "learning_starts": 1000})
    assert [step for step, _ in recorder.evaluations] == [40 * (k + 1) for k in range(streak)]
    assert result.summary["steps"] == result.summary["solved_at"] == 40 * streak


def test_a_failed_evaluation_restarts_the_streak():
    from zoo.callbacks import Evaluation, StopAtReturn

    stop = StopAtReturn(-180.0, streak=2)
    stops = [stop.on_evaluation(1000 * (k + 1), Evaluation(mean, 0.0, 200.0, (mean,), 1.0))
             for k, mean in enumerate([-170.0, -190.0, -150.0, -179.0])]
    assert stops == [False, False, False, True]
    assert stop.summary() == {"solved_at": 4000}
    with pytest.raises(ZooError, match="stop_streak"):
        resolve_hyperparams(ALGOS["ddpg"], "Pendulum-v1", {"stop_streak": 0}, None)


def test_callbacks_are_refused_for_algos_without_a_learning_curve(tmp_path):
    with pytest.raises(ZooError, match="callbacks are for the deep-RL algos"):
        train("ucb", "BernoulliBandit-v0", callbacks=[Recorder()], out_dir=tmp_path)


# ---- supported spaces --------------------------------------------------------------------


@pytest.mark.parametrize("algo, env_id, message", [
    ("dqn", "Pendulum-v1", "dqn supports Discrete actions, Pendulum-v1 has Box"),
    ("ddpg", "CartPole-v1", "ddpg supports Box actions, CartPole-v1 has Discrete"),
    ("reinforce", "test/TextObservation-v0", "reinforce supports Box, Dict, Tuple, Discrete, MultiDiscrete and "
                                             "MultiBinary observations, test/TextObservation-v0 has Text"),
    ("value_iteration", "CartPole-v1", "value_iteration supports Discrete observations"),
    # an env with both kinds of actions by its argument: how to get the other one
    ("dqn", "LunarLanderContinuous-v3",
     r"dqn supports Discrete actions, .* has Box.* \(--env-kwargs continuous:False gives it Discrete actions\)"),
    ("ddpg", "LunarLander-v3", r"ddpg supports Box actions, LunarLander-v3 has Discrete\(4\) "
                               r"\(--env-kwargs continuous:True gives it Box actions\)"),
])
def test_unsupported_spaces_are_refused_before_a_run_folder_exists(algo, env_id, message, tmp_path):
    with pytest.raises(ZooError, match=message):
        train(algo, env_id, out_dir=tmp_path)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


gym.register("test/DictCartPole-v0", entry_point=DictCartPole)


class TextObservation(gym.Env):
    """Observations no MLP takes: strings (Gymnasium's Text space has no flat form)."""

    observation_space = gym.spaces.Text(5)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return "a", {}

    def step(self, action):
        return "a", 0.0, True, False, {}


gym.register("test/TextObservation-v0", entry_point=TextObservation)


@pytest.mark.parametrize("algo", ["dqn", "sac", "reinforce", "actor_critic"])
def test_dict_observations_are_flattened_for_mlp_agents(algo, tmp_path):
    result = train(algo, "test/DictCartPole-v0", seed=0, n_timesteps=300, out_dir=tmp_path,
                   overrides={**QUICK, **({"learning_starts": 50} if algo in ("dqn", "sac") else {})})
    assert result.agent.observation_space.shape == (4,)  # {'cart': 2, 'pole': 2} flattened
    from zoo.play import open_agent

    opened = open_agent(algo, "test/DictCartPole-v0", result.run_dir)
    observation, _ = opened.env.reset(seed=0)
    assert observation.shape == (4,) and opened.agent.take_action(observation, deterministic=True) in (0, 1)


@pytest.mark.parametrize("algo", ["dqn", "ppo", "sac"])
def test_discrete_observations_are_one_hot_for_mlp_agents(algo, tmp_path):
    # FrozenLake's 16 states (SB3's preprocess_obs one-hots them too); they were refused
    result = train(algo, "FrozenLake-v1", seed=0, n_timesteps=200, out_dir=tmp_path,
                   overrides={**QUICK, **({"learning_starts": 50} if algo in ("dqn", "sac") else {"n_steps": 64})})
    assert result.agent.observation_space.shape == (16,)
    from zoo.play import open_agent

    opened = open_agent(algo, "FrozenLake-v1", result.run_dir)
    observation, _ = opened.env.reset(seed=0)
    assert observation.tolist() == [1] + [0] * 15 and opened.agent.take_action(observation, True) in range(4)


@pytest.mark.slow  # ~7 s learning run; runs in .ci/run's slow pass
def test_ppo_learns_deterministic_frozen_lake_from_one_hot_states(tmp_path):
    result = train("ppo", "FrozenLake-v1", seed=0, n_timesteps=20_000, out_dir=tmp_path, overrides={
        **QUICK, "env_kwargs": {"is_slippery": False}, "n_envs": 4, "n_steps": 128, "batch_size": 128})
    from zoo.build import env_of
    from zoo.evaluation import evaluate_agent

    env = env_of(result.agent).make()
    assert evaluate_agent(result.agent, env, 5, deterministic=True, seed=1).mean == 1.0  # random: ~0.01


def test_named_env_wrappers_come_from_a_closed_set(tmp_path):
    write(tmp_path / "ddpg.yml", {"Pendulum-v1": {"env_wrappers": ["clip_action"]}})
    resolved = resolve_hyperparams(get_algo("ddpg"), "Pendulum-v1", None, tmp_path)
    assert resolved.env_wrappers == ["clip_action"]
    write(tmp_path / "ddpg.yml", {"Pendulum-v1": {"env_wrappers": ["os.system"]}})
    with pytest.raises(ZooError, match="unknown env wrapper 'os.system'.*Available: flatten_observation"):
        resolve_hyperparams(get_algo("ddpg"), "Pendulum-v1", None, tmp_path)


# ---- family contracts --------------------------------------------------------------------


def test_a_truncated_rollout_step_keeps_its_last_observation_and_is_not_terminal():
    agent, _, _ = new_agent("actor_critic", overrides={"n_envs": 2})
    envs = make_vector_env("CartPole-v1", 2, {"max_episode_steps": 7})
    rollout = RolloutCollector(agent, envs, quiet_monitor(agent), seed=0).collect(20)
    cut = np.argwhere(rollout.truncated == 1)
    assert len(cut) >= 2
    for t, i in cut:
        assert rollout.terminated[t, i] == 0  # a time limit is not an end: the critic bootstraps
        last = rollout.next_observations[t, i]  # where the time limit cut the episode...
        assert not np.array_equal(last, rollout.observations[t, i])  # ...one real step on
        if t + 1 < len(rollout.observations):
            assert not np.array_equal(last, rollout.observations[t + 1, i])  # not the next episode's start
    envs.close()


def test_the_off_policy_loop_ends_ddpg_episodes_with_the_noise_reset(tmp_path):
    noise_at_episode_ends = []

    class Watch(Callback):
        def on_training_start(self, agent, start_step, total_steps):
            self.agent = agent

        def on_episode_end(self, step, episode):
            noise_at_episode_ends.append(self.agent.noise_state.copy())
            return False

    train("ddpg", "Pendulum-v1", seed=0, n_timesteps=450, out_dir=tmp_path, callbacks=[Watch()],
          overrides={**QUICK, "noise": "ornstein_uhlenbeck", "learning_starts": 0, "net_arch": [8]})
    assert len(noise_at_episode_ends) == 2
    for noise in noise_at_episode_ends:
        np.testing.assert_array_equal(noise, 0.0)
