"""`zoo train --resume RUN_DIR`: continue from the last checkpoint, replay buffer included."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

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


def test_frame_buffer_state_round_trip():
    rng = np.random.default_rng(0)
    buffer = FrameReplayBuffer(50, (2, 3, 3), frame_channels=1, seed=0)
    observation = rng.integers(0, 255, (2, 3, 3), dtype=np.uint8)
    for t in range(80):
        next_observation = np.concatenate([observation[1:], rng.integers(0, 255, (1, 3, 3), dtype=np.uint8)])
        buffer.add(observation, t % 3, float(t), next_observation, t % 17 == 16, False)
        observation = next_observation
    copy = FrameReplayBuffer(50, (2, 3, 3), frame_channels=1, seed=0)
    copy.load_state_arrays(buffer.state_arrays())
    buffer.rng, copy.rng = np.random.default_rng(1), np.random.default_rng(1)
    a, b = buffer.sample(20), copy.sample(20)
    for name in ("observations", "actions", "rewards", "next_observations", "terminated"):
        assert np.array_equal(getattr(a, name).numpy(), getattr(b, name).numpy())
