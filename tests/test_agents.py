"""Every registered agent: acts, learns, and survives a save -> load round trip."""

import io
import json
import os
import pickle
import zipfile

import gymnasium as gym
import numpy as np
import pytest

import envs
from helpers import flagship_env, new_agent, trained_agent
from zoo.build import load_agent
from zoo.checkpoint import read_checkpoint
from zoo.errors import ZooError
from zoo.registry import ALGOS

gym.register_envs(envs)

@pytest.mark.parametrize("algo", list(ALGOS))
def test_agent_follows_the_protocol_and_round_trips(algo, tmp_path):
    agent, env = trained_agent(algo)
    assert agent.algo == algo  # an alias keeps the name it was built under
    path = agent.save(tmp_path / "model.zip")
    loaded = load_agent(path, algo=algo, env_id=agent.env_id)
    for name, array in agent.state_arrays().items():
        np.testing.assert_array_equal(loaded.state_arrays()[name], array)
    observations = [env.observation_space.sample() for _ in range(20)]
    assert [agent.take_action(o, deterministic=True) for o in observations] == [
        loaded.take_action(o, deterministic=True) for o in observations
    ]
    # load() into an existing agent of the same kind works too
    fresh, _ = trained_agent(algo, seed=1)
    fresh.load(path)
    for name, array in agent.state_arrays().items():
        np.testing.assert_array_equal(fresh.state_arrays()[name], array)


@pytest.mark.parametrize("algo", list(ALGOS))
def test_greedy_actions_of_a_batch_are_the_deterministic_actions_one_by_one(algo):
    # training's evaluation asks for a batch at once (zoo.evaluation.evaluate_in_lockstep)
    agent, env = trained_agent(algo)
    env.observation_space.seed(0)
    observations = [env.observation_space.sample() for _ in range(7)]
    batch = np.stack(observations)
    one_by_one = [agent.take_action(o, deterministic=True) for o in observations]
    together = agent.greedy_actions(batch)
    assert len(together) == len(one_by_one)
    for single, batched in zip(one_by_one, together):
        np.testing.assert_allclose(np.asarray(batched, dtype=np.float64), np.asarray(single, dtype=np.float64),
                                   rtol=1e-5, atol=1e-6)
        assert np.shape(batched) == np.shape(single)


@pytest.mark.parametrize("algo", ["dqn", "ddpg", "sac"])
def test_a_batch_of_the_wrong_observation_shape_is_one_clear_error(algo):
    agent, env = trained_agent(algo)
    wrong = np.zeros((2, env.observation_space.shape[0] + 1), dtype=np.float32)
    with pytest.raises(ZooError, match=f"{algo}: observations of shape \\({wrong.shape[1]},\\), this agent takes"):
        agent.greedy_actions(wrong)


def test_loading_refuses_another_algo_or_env(tmp_path):
    agent, _ = trained_agent("ucb")
    path = agent.save(tmp_path / "model.zip")
    with pytest.raises(ZooError, match="holds a 'ucb' agent, not 'thompson_sampling'"):
        load_agent(path, algo="thompson_sampling")
    with pytest.raises(ZooError, match="holds a 'ucb' agent"):
        trained_agent("epsilon_greedy")[0].load(path)
    with pytest.raises(ZooError, match="trained on 'BernoulliBandit-v0', not 'CartPole-v1'"):
        load_agent(path, env_id="CartPole-v1")
    assert load_agent(path, env_id="envs:BernoulliBandit-v0").algo == "ucb"


def test_loading_refuses_other_spaces(tmp_path):
    agent, _ = trained_agent("value_iteration")
    path = agent.save(tmp_path / "model.zip")
    spec = ALGOS["value_iteration"]
    other = spec.load_agent_class()(gym.spaces.Discrete(16), gym.spaces.Discrete(4), agent.config,
                                    env_id="CliffWalking4x12-v0")
    with pytest.raises(ZooError, match="observation space Discrete\\(48\\), not Discrete\\(16\\)"):
        other.load(path)


@pytest.mark.parametrize("content", [b"", b"garbage" * 10, b"PK\x03\x04 truncated zip"])
def test_corrupt_checkpoint_is_refused_with_a_clear_error(tmp_path, content):
    path = tmp_path / "model.zip"
    path.write_bytes(content)
    with pytest.raises(ZooError, match="not a readable zoo checkpoint"):
        load_agent(path)


def test_truncated_checkpoint_is_refused(tmp_path):
    agent, _ = trained_agent("value_iteration")
    data = agent.save(tmp_path / "model.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ZooError, match="not a readable zoo checkpoint"):
        load_agent(tmp_path / "cut.zip")


def test_foreign_zip_is_refused(tmp_path):
    path = tmp_path / "sb3_model.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", "{}")
        archive.writestr("policy.pth", b"\x80\x04")
    with pytest.raises(ZooError, match="not a zoo checkpoint"):
        load_agent(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"format": "something-else"}))
        archive.writestr("arrays.npz", b"")
    with pytest.raises(ZooError, match="is not a zoo checkpoint"):
        load_agent(path)


def test_a_checkpoint_carrying_a_pickle_is_refused_and_nothing_is_unpickled(tmp_path, monkeypatch):
    agent, _ = trained_agent("ucb")
    path = agent.save(tmp_path / "model.zip")
    with zipfile.ZipFile(path) as archive:
        metadata = archive.read("metadata.json")
    payload = io.BytesIO()
    np.savez(payload, counts=np.array([object()], dtype=object), reward_sums=np.zeros(10))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", metadata)
        archive.writestr("arrays.npz", payload.getvalue())

    def refuse(*args, **kwargs):
        raise AssertionError("loading a checkpoint must never unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    with pytest.raises(ZooError, match="has dtype object; zoo reads only"):
        load_agent(path)


def test_checkpoint_is_plain_json_and_npz(tmp_path):
    agent, _ = trained_agent("policy_iteration")
    path = agent.save(tmp_path / "model.zip")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "metadata.json"]
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["algo"] == "policy_iteration" and metadata["env_id"] == "CliffWalking4x12-v0"
    assert metadata["observation_space"] == {"type": "Discrete", "n": 48, "start": 0}
    assert metadata["config"]["gamma"] == 0.9 and metadata["zoo_version"]
    _, arrays = read_checkpoint(path)
    assert set(arrays) == {"values", "policy"}


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    agent, _ = trained_agent("value_iteration")
    path = agent.save(tmp_path / "model.zip")
    before = path.read_bytes()
    agent.values = agent.values + 1.0

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if Ctrl-C hit between writing and renaming

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        agent.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]  # no temporary left over


def test_box_spaces_round_trip_through_json():
    from zoo.checkpoint import space_from_dict, space_to_dict

    for space in (gym.spaces.Box(-1.0, 2.0, (3,), np.float32),
                  gym.spaces.Box(np.array([-np.inf, 0]), np.array([np.inf, 1]), dtype=np.float64),
                  gym.spaces.Discrete(5, start=-2), gym.spaces.MultiDiscrete([3, 4]),
                  gym.spaces.MultiBinary(6)):
        assert space_from_dict(json.loads(json.dumps(space_to_dict(space)))) == space


def test_dp_agent_rejects_an_observation_that_is_not_a_state():
    agent, _ = trained_agent("value_iteration")
    with pytest.raises(ZooError, match="not a state"):
        agent.take_action(99)


@pytest.mark.slow  # a fresh interpreter (~4 s): a start-up time guard, not a behaviour
def test_building_an_agent_does_not_import_sympy_at_start_up():
    """zoo.build first builds every agent on torch's meta device; some meta ops (*_like, stack)
    import torch's symbolic-shapes machinery and sympy, 0.7 s of every `zoo train` start-up."""
    import subprocess
    import sys

    script = """
import sys
from zoo.build import build_agent, describe_env
from zoo.config import resolve_hyperparams
from zoo.registry import get_algo
for algo, env_id in (("dqn", "CartPole-v1"), ("dueling_dqn", "CartPole-v1"), ("sac", "Pendulum-v1"),
                     ("td3", "Pendulum-v1"), ("ppo", "Pendulum-v1"), ("actor_critic", "CartPole-v1")):
    spec = get_algo(algo)
    resolved = resolve_hyperparams(spec, env_id)
    env = describe_env(spec, env_id, resolved.env_kwargs, resolved.env_wrappers, resolved.config)
    probe = env.make()
    build_agent(spec, probe.observation_space, probe.action_space, resolved.config, env, seed=0)
    assert "sympy" not in sys.modules, algo
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# Every algo whose config takes RL Zoo's lin_<start> step size, and the overrides that keep its
# run small: updates at every step (off-policy) or every rollout (on-policy), tiny networks.
SCHEDULED = {
    "dqn": {"train_freq": 1, "gradient_steps": 1, "learning_starts": 100, "batch_size": 32, "net_arch": [16]},
    "ddpg": {"learning_starts": 100, "batch_size": 32, "net_arch": [16]},
    "td3": {"learning_starts": 100, "batch_size": 32, "net_arch": [16]},
    "sac": {"train_freq": 1, "gradient_steps": 1, "learning_starts": 100, "batch_size": 32, "net_arch": [16]},
    "actor_critic": {"n_envs": 2, "n_steps": 16, "net_arch": [16]},
    "ppo": {"n_envs": 2, "n_steps": 32, "batch_size": 64, "n_epochs": 1, "net_arch": [16]},
}


def _optimizers(agent):
    return [value for value in vars(agent).values() if type(value).__name__ == "ClippedAdam"]


@pytest.mark.parametrize("algo", list(SCHEDULED))
def test_a_linear_learning_rate_falls_over_the_budget_and_a_resume_goes_on_from_it(algo, tmp_path):
    """lin_1e-3: every optimizer's step size is 1e-3 x the budget's remaining fraction at the
    last update (SB3's progress_remaining); a run stopped at ~600 of 1000 steps and resumed with
    a budget of 2000 goes on from the value it had reached, to 0 at the new end; the update's
    metrics report it. A constant step size stays as written and is not reported."""
    from zoo.callbacks import Callback
    from zoo.train import train

    class StopAt600(Callback):
        def on_step(self, step):
            return step >= 600

    overrides = {**SCHEDULED[algo], "learning_rate": "lin_1e-3", "eval_freq": 0, "stop_at_return": None}
    first = train(algo, flagship_env(algo), seed=0, n_timesteps=1000, overrides=overrides, out_dir=tmp_path,
                  callbacks=[StopAt600()])
    agent = first.agent
    assert 500 <= agent.clock.step <= agent.num_timesteps <= 700
    expected = 1e-3 * (1 - agent.clock.step / 1000)
    assert _optimizers(agent) and all(o.lr == pytest.approx(expected) for o in _optimizers(agent))

    resumed = train(algo, flagship_env(algo), seed=0, n_timesteps=2000, overrides={"eval_freq": 0},
                    out_dir=tmp_path, resume=first.run_dir).agent
    step0, remaining0 = resumed.clock.anchor
    assert step0 == agent.num_timesteps and remaining0 == pytest.approx(1 - step0 / 1000)
    expected = 1e-3 * remaining0 * max(0, 2000 - resumed.clock.step) / (2000 - step0)  # a rollout may pass the end
    assert all(o.lr == pytest.approx(expected, abs=1e-12) for o in _optimizers(resumed))

    for value, reported in (("lin_1e-3", True), (1e-3, False)):
        fresh, env, description = new_agent(algo, overrides={**SCHEDULED[algo], "learning_rate": value,
                                                             "n_timesteps": 1000})
        fresh.clock.step = 250
        metrics = _one_update(fresh, env, description)
        assert ("learning_rate" in metrics) == (reported or algo == "ppo")  # PPO reported its constant before too
        assert all(o.lr == pytest.approx(7.5e-4 if reported else 1e-3) for o in _optimizers(fresh))


def _one_update(agent, env, description):
    """One update from a fresh agent's own kind of data, its clock left where the test put it."""
    from helpers import quiet_monitor
    from zoo.loops.on_policy import RolloutCollector

    if ALGOS[agent.algo].family == "on_policy":
        step = agent.clock.step - agent.config.n_steps * agent.config.n_envs  # update() adds the rollout's steps
        collector = RolloutCollector(agent, description.make_vector(agent.config.n_envs), quiet_monitor(agent), seed=0)
        rollout = collector.collect(agent.config.n_steps)
        agent.clock.step = step
        return agent.update(rollout)
    buffer = agent.make_replay_buffer(200, seed=0)
    observation, _ = env.reset(seed=0)
    for action in agent.random_actions(100):
        next_observation, reward, terminated, truncated, _ = env.step(action)
        buffer.add(observation, action, float(reward), next_observation, terminated, truncated)
        observation = env.reset()[0] if terminated or truncated else next_observation
    return agent.update(buffer.sample(32))
