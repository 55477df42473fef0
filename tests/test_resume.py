"""`zoo train --resume RUN_DIR`: continue from the last checkpoint, replay buffer included; periodic
checkpoints (save_freq), what a killed run goes on from."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zoo.callbacks import Callback
from zoo.checkpoint import read_checkpoint
from zoo.cli import app
from zoo.errors import ZooError
from zoo.replay_buffer import FrameReplayBuffer
from zoo.train import train


def logged_steps(run_dir):
    with (run_dir / "progress.csv").open() as file:
        return [int(row["step"]) for row in csv.DictReader(file)]


def test_off_policy_run_resumes_with_its_replay_buffer(tmp_path):
    first = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path, overrides={
        "n_timesteps": 1000, "learning_starts": 200, "eval_freq": 0, "stop_at_return": None,
        "save_replay_buffer": True})
    assert (first.run_dir / "replay_buffer.npz").exists()
    assert read_checkpoint(first.checkpoint)[0]["num_timesteps"] == 1000
    second = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path, n_timesteps=1600, resume=first.run_dir)
    assert second.run_dir != first.run_dir
    assert second.summary["resumed_from_step"] == 1000 and second.summary["replay_buffer_restored"]
    assert second.agent.num_timesteps == 1600 and read_checkpoint(second.checkpoint)[0]["num_timesteps"] == 1600
    assert min(logged_steps(second.run_dir)) > 1000  # no warm-up again, the step count goes on
    assert second.agent.n_updates > first.agent.n_updates  # optimizer counters carried over
    assert second.agent.exploration_rate == pytest.approx(first.agent.config.exploration_final_eps)


def test_on_policy_run_resumes(tmp_path):
    first = train("actor_critic", "CartPole-v1", seed=0, out_dir=tmp_path,
                  overrides={"n_timesteps": 800, "eval_freq": 0, "stop_at_return": None})
    result = CliRunner().invoke(app, ["train", "actor_critic", "CartPole-v1", "--resume", str(first.run_dir),
                                      "--steps", "1600", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # whole rollouts: 800 steps end where the rollout that crosses 800 ends (the entry's 16 envs x 16 steps: 1024)
    assert first.agent.num_timesteps >= 800 and f"resumed at step {first.agent.num_timesteps}" in result.output


def test_resume_refuses_what_cannot_go_on(tmp_path):
    first = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path,
                  overrides={"n_timesteps": 300, "eval_freq": 0, "stop_at_return": None})
    with pytest.raises(ZooError, match="trained 300 steps already"):
        train("dqn", "CartPole-v1", out_dir=tmp_path, resume=first.run_dir)
    with pytest.raises(ZooError, match="holds a 'dqn' agent"):
        train("double_dqn", "CartPole-v1", out_dir=tmp_path, n_timesteps=600, resume=first.run_dir)
    with pytest.raises(ZooError, match="nothing to resume"):
        train("value_iteration", "CliffWalking4x12-v0", out_dir=tmp_path, resume=first.run_dir)
    # the networks go on as saved: another activation loaded silently (ReLU weights under tanh), another
    # net_arch failed on a tensor's shape, another init did nothing
    for key, value in (("activation", "tanh"), ("net_arch", [32]), ("init", "orthogonal"),
                       ("dueling", True)):
        with pytest.raises(ZooError, match=f"--hp: {key} cannot change on --resume: .*model.zip's networks have"):
            train("dqn", "CartPole-v1", out_dir=tmp_path, n_timesteps=600, resume=first.run_dir,
                  overrides={key: value})
    # the same value, or anything else, goes on
    same = train("dqn", "CartPole-v1", out_dir=tmp_path, n_timesteps=400, resume=first.run_dir,
                 overrides={"net_arch": list(first.agent.config.net_arch), "learning_rate": 1e-4})
    assert same.agent.num_timesteps == 400 and same.agent.config.learning_rate == 1e-4


class StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step(self, step):
        return step >= self.step


def test_periodic_checkpoints_hold_the_agent_at_their_step_and_a_killed_run_resumes_from_the_latest(tmp_path):
    settings = {"n_timesteps": 1000, "learning_starts": 200, "eval_freq": 0, "stop_at_return": None,
                "save_replay_buffer": True}
    # the entry updates every 256 steps (train_freq): each checkpoint is taken right after an update
    run = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path / "a", overrides={**settings, "save_freq": 256})
    folder = run.run_dir / "checkpoints"
    assert sorted(path.name for path in folder.iterdir()) == [
        "model_256_steps.zip", "model_512_steps.zip", "model_768_steps.zip", "replay_buffer_768_steps.npz"]
    for step in (256, 512, 768):
        assert read_checkpoint(folder / f"model_{step}_steps.zip")[0]["num_timesteps"] == step

    # The same run stopped at step 512 saves, as its final model, what the periodic checkpoint holds.
    stopped = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path / "b", overrides=settings, callbacks=[StopAt(512)])
    periodic, final = read_checkpoint(folder / "model_512_steps.zip")[1], read_checkpoint(stopped.checkpoint)[1]
    assert periodic.keys() == final.keys()
    assert all(np.array_equal(periodic[name], final[name]) for name in final)

    # Killed before its final save: no model.zip, no replay_buffer.npz. It goes on from step 768.
    (run.run_dir / "model.zip").unlink()
    (run.run_dir / "replay_buffer.npz").unlink()
    result = CliRunner().invoke(app, ["train", "dqn", "CartPole-v1", "--resume", str(run.run_dir / "checkpoints"),
                                      "--steps", "1500", "--out", str(tmp_path / "a")])  # the run or its checkpoints/
    assert result.exit_code == 0, result.output
    assert "resumed at step 768 from" in result.output and "model_768_steps.zip with its replay buffer" in result.output
    assert "732 steps (768 -> 1500) in" in result.output  # its time and speed are of the steps it ran
    resumed = tmp_path / "a" / "dqn" / "CartPole-v1_2"
    assert min(logged_steps(resumed)) > 768
    assert sorted(path.name for path in (resumed / "checkpoints").iterdir()) == [  # its save_freq goes on too
        "model_1024_steps.zip", "model_1280_steps.zip", "replay_buffer_1280_steps.npz"]


def test_on_policy_runs_keep_checkpoints_between_rollouts(tmp_path):
    result = CliRunner().invoke(app, ["train", "actor_critic", "CartPole-v1", "--steps", "1100", "--save-freq", "500",
                                      "--hp", "eval_freq=0", "--hp", "stop_at_return=null", "--out", str(tmp_path)])
    assert result.exit_code == 0 and "2 periodic checkpoint(s) in" in result.output, result.output
    # rollouts of the entry's 16 envs x 16 steps end at 256, 512, ..., 1280: the first at or past 500, 1000
    folder = tmp_path / "actor_critic" / "CartPole-v1_1" / "checkpoints"
    assert sorted(path.name for path in folder.iterdir()) == ["model_1024_steps.zip", "model_512_steps.zip"]
    assert read_checkpoint(folder / "model_512_steps.zip")[0]["num_timesteps"] == 512


def test_save_freq_refusals(tmp_path):
    runner = CliRunner()
    for args, says in ((["dqn", "CartPole-v1", "--save-freq", "-1"], "--save-freq must be >= 0"),
                       (["ucb", "BernoulliBandit-v0", "--save-freq", "10"], "keeps no periodic checkpoints"),
                       (["dqn", "CartPole-v1", "--hp", "save_freq=-1"], "save_freq must be >= 0")):
        result = runner.invoke(app, ["train", *args, "--out", str(tmp_path)])
        assert result.exit_code == 1 and says in result.output, result.output
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    # a run that ended before its final save and kept no periodic checkpoints: what it has is named
    run = tmp_path / "dqn" / "CartPole-v1_1"
    run.mkdir(parents=True)
    (run / "best_model.zip").write_bytes(b"")
    with pytest.raises(ZooError, match=r"no model.zip .* no periodic checkpoints .* --resume .*best_model.zip"):
        train("dqn", "CartPole-v1", out_dir=tmp_path, n_timesteps=600, resume=run)


def test_frame_buffer_state_round_trip():
    rng = np.random.default_rng(0)
    buffer = FrameReplayBuffer(50, (2, 3, 3), frame_channels=1, seed=0)
    observation = rng.integers(0, 255, (2, 3, 3), dtype=np.uint8)
    for t in range(80):
        next_observation = np.concatenate([observation[1:], rng.integers(0, 255, (1, 3, 3), dtype=np.uint8)])
        buffer.add(observation, t % 3, float(t), next_observation, t % 17 == 16, False)
        observation = next_observation
    state = buffer.state_arrays()
    for counters in (state["counters"], state["counters"][:4]):  # saves before the floor had four counters
        copy = FrameReplayBuffer(50, (2, 3, 3), frame_channels=1, seed=0)
        copy.load_state_arrays({**state, "counters": counters})
        buffer.rng, copy.rng = np.random.default_rng(1), np.random.default_rng(1)
        a, b = buffer.sample(20), copy.sample(20)
        for name in ("observations", "actions", "rewards", "next_observations", "terminated"):
            assert np.array_equal(getattr(a, name).numpy(), getattr(b, name).numpy())


def test_evaluate_enjoy_and_upload_pick_a_runs_checkpoint_as_rl_zoo_does(tmp_path):
    run = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path, overrides={
        "n_timesteps": 1000, "learning_starts": 200, "eval_freq": 500, "n_eval_episodes": 2, "stop_at_return": None,
        "save_freq": 256}).run_dir
    runner = CliRunner()

    def played(*flags):
        result = runner.invoke(app, ["evaluate", "dqn", "CartPole-v1", "--episodes", "1", "--json", "--runs-dir",
                                     str(tmp_path), *flags])
        assert result.exit_code == 0, result.output
        return Path(json.loads(result.output)["checkpoint"])

    assert played() == run / "model.zip"
    assert played("--load-best") == run / "best_model.zip"
    assert played("--load-last-checkpoint") == run / "checkpoints" / "model_768_steps.zip"
    assert played("--path", str(run), "--load-checkpoint", "512") == run / "checkpoints" / "model_512_steps.zip"
    assert played("--path", str(run / "checkpoints"), "--load-last-checkpoint") == \
        run / "checkpoints" / "model_768_steps.zip"  # its checkpoints/ folder stands for the run
    result = runner.invoke(app, ["enjoy", "dqn", "CartPole-v1", "--episodes", "1", "--runs-dir", str(tmp_path),
                                 "--load-checkpoint", "256"])
    assert result.exit_code == 0 and "model_256_steps.zip" in result.output, result.output
    result = runner.invoke(app, ["upload", "dqn", "CartPole-v1", "--repo-id", "me/dqn", "--runs-dir", str(tmp_path),
                                 "--load-best", "--no-video", "--episodes", "1", "--out", str(tmp_path / "hub")],
                           env={"COLUMNS": "40"})  # a narrow terminal: the paths stay whole for copying
    assert result.exit_code == 0 and f"packaged {run / 'best_model.zip'} into {tmp_path / 'hub'}" in result.output, \
        result.output

    (run / "model.zip").rename(run / "kept.zip")  # as if still training, or killed: what it holds is named
    for flags, says in (
            (["--path", str(run)], "has no model.zip (still training, or ended before its final save); play what it "
                                   "holds with --load-best or --load-last-checkpoint (its periodic checkpoints: steps "
                                   "256, 512, 768)"),
            (["--load-best", "--load-checkpoint", "256"], "Give one of --load-best and --load-checkpoint"),
            (["--load-checkpoint", "-1"], "--load-checkpoint takes the env step"),
            (["--path", str(run), "--load-checkpoint", "500"], "(its periodic checkpoints: steps 256, 512, 768)"),
            (["--path", str(run / "model.zip"), "--load-best"], "is not a folder"),
            (["--load-best", "--from-hub", "me/dqn"], "a Hub repo holds one agent"),
            (["--runs-dir", str(tmp_path / "elsewhere"), "--load-last-checkpoint"], "need `zoo train --save-freq N`")):
        result = runner.invoke(app, ["evaluate", "dqn", "CartPole-v1", "--runs-dir", str(tmp_path), *flags])
        assert result.exit_code == 1 and says in result.output, (flags, result.output)


def _filled_frame_buffer(capacity, steps, rng):
    buffer = FrameReplayBuffer(capacity, (2, 3, 3), frame_channels=1, seed=0)
    observation = rng.integers(0, 255, (2, 3, 3), dtype=np.uint8)
    for t in range(steps):
        next_observation = np.concatenate([observation[1:], rng.integers(0, 255, (1, 3, 3), dtype=np.uint8)])
        buffer.add(observation, t % 3, float(t), next_observation, t % 17 == 16, False)
        observation = next_observation if t % 17 != 16 else rng.integers(0, 255, (2, 3, 3), dtype=np.uint8)
    return buffer, observation


@pytest.mark.parametrize("new_capacity", [30, 50, 80])
def test_frame_buffer_loads_into_another_capacity(new_capacity):
    """A run resumed with a larger budget gets a larger frame buffer (capacity min(buffer_size,
    n_timesteps)); a smaller one keeps the newest frames. Every sampled transition is one the
    saved buffer held, stacks included, never a stack reaching into slots it never had."""
    rng = np.random.default_rng(0)
    saved, observation = _filled_frame_buffer(50, 75, rng)  # its ring begins inside an episode (started at 18)
    truth = {}  # reward (its step, unique) -> (observation stack, next stack) as the saved buffer rebuilds them
    for index in range(saved.total - 50, saved.total - 1):
        slot = index % 50
        if saved.has_next[slot] and max(index - saved.stack + 1, saved.episode_start[slot]) >= saved.total - 50:
            truth[float(saved.rewards[slot])] = (saved._stacks(np.array([index]))[0],
                                                 saved._stacks(np.array([index + 1]))[0])
    window = range(saved.total - 50, saved.total)
    saved_rewards = {float(saved.rewards[i % 50]) for i in window if saved.has_next[i % 50]}
    loaded = FrameReplayBuffer(new_capacity, (2, 3, 3), frame_channels=1, seed=1)
    loaded.load_state_arrays(saved.state_arrays())
    for round in range(2):
        batch = loaded.sample(256)
        for obs, reward, next_obs in zip(batch.observations.numpy(), batch.rewards.numpy(),
                                         batch.next_observations.numpy()):
            if float(reward) in truth:
                expected_obs, expected_next = truth[float(reward)]
                assert np.array_equal(obs, expected_obs) and np.array_equal(next_obs, expected_next)
            else:  # only transitions added after loading are new
                assert round == 1 and reward >= 1000
        held = {float(r) for r in loaded.rewards[loaded.has_next]}
        assert held <= saved_rewards | {float(1000 + t) for t in range(40)}
        if new_capacity >= 50 and round == 0:
            assert saved_rewards <= held  # nothing the saved ring held was lost
        for t in range(40):  # the run goes on: new frames fill the slots the saved ring never held
            next_observation = np.concatenate([observation[1:], rng.integers(0, 255, (1, 3, 3), dtype=np.uint8)])
            loaded.add(observation, 0, float(1000 + t), next_observation, False, False)
            observation = next_observation
    assert loaded.state_arrays()["counters"][4] == loaded.floor  # the floor is saved with it


def test_vision_dqn_resumes_with_its_frame_buffer_and_a_larger_budget(tmp_path):
    first = train("vision_dqn", "CliffWalking4x12-v0", seed=0, out_dir=tmp_path, overrides={
        "n_timesteps": 600, "learning_starts": 100, "eval_freq": 0, "save_replay_buffer": True, "save_freq": 300,
        "stop_at_return": None})
    (first.run_dir / "model.zip").unlink()  # killed before its final save: resumed from checkpoints/, step 600
    second = train("vision_dqn", "CliffWalking4x12-v0", seed=0, out_dir=tmp_path, n_timesteps=900,
                   resume=first.run_dir)
    assert second.summary["resumed_from_step"] == 600 and second.summary["replay_buffer_restored"]
    assert second.agent.num_timesteps == 900


class RecordEpsilon(Callback):
    def on_training_start(self, agent, start_step, total_steps):
        self.agent, self.rates = agent, {}

    def on_step(self, step):
        self.rates[step] = self.agent.exploration_rate
        return False


def test_epsilon_goes_on_down_from_where_it_stood_when_a_resume_changes_the_budget(tmp_path):
    settings = {"n_timesteps": 1000, "learning_starts": 100, "eval_freq": 0, "stop_at_return": None,
                "exploration_fraction": 0.5, "exploration_initial_eps": 1.0, "exploration_final_eps": 0.05}
    first = RecordEpsilon()
    run = train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path, overrides=settings, callbacks=[first, StopAt(200)])
    assert first.rates[200] == pytest.approx(1.0 - 0.95 * 200 / 500)  # decaying over 500 of the 1000 steps
    for budget, end in ((1000, 500), (2000, 1000)):  # the same budget, then twice it (the decay ends at 1000)
        resumed = RecordEpsilon()
        train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path, n_timesteps=budget, resume=run.run_dir,
              callbacks=[resumed, StopAt(end + 10)])
        rates = [first.rates[200]] + [resumed.rates[step] for step in range(201, end + 11)]
        assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))  # never back up
        assert resumed.rates[end] == pytest.approx(0.05) and resumed.rates[end - 1] > 0.05
        if budget == 1000:  # unchanged budget: the schedule the run had
            assert resumed.rates[350] == pytest.approx(1.0 - 0.95 * 350 / 500)
        else:  # from (200, 0.62) down to (1000, 0.05); recomputed from the new budget it was 0.81 at 201
            assert resumed.rates[600] == pytest.approx(first.rates[200] + 0.5 * (0.05 - first.rates[200]))
