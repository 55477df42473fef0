"""`zoo train --tensorboard`: the event file holds the same curves as the run's CSV logs."""

import csv
import sys

import pytest
from test_cli import zoo

pytest.importorskip("tensorboard")


def _scalars(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(event.step, event.value) for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.mark.parametrize("algo", ["dqn", "actor_critic"])  # one per loop: off-policy and on-policy
def test_train_logs_episodes_evaluations_and_losses(tmp_path, algo):
    result = zoo("train", algo, "CartPole-v1", "--steps", 3000, "--hp", "eval_freq=1000", "--hp", "n_eval_episodes=2",
                 "--hp", "stop_at_return=null", "--tensorboard", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / algo / "CartPole-v1_1"
    assert f"tensorboard --logdir runs/{algo}" in result.output
    scalars = _scalars(run_dir / "tensorboard")

    with open(run_dir / "progress.csv") as file:
        episodes = list(csv.DictReader(file))
    logged = scalars["rollout/episode_return"]
    assert [step for step, _ in logged] == [int(row["step"]) for row in episodes]
    assert [value for _, value in logged] == pytest.approx([float(row["return"]) for row in episodes])
    first_hundred = [float(row["return"]) for row in episodes[:100]]
    assert scalars["rollout/ep_rew_mean"][min(99, len(episodes) - 1)][1] == pytest.approx(
        sum(first_hundred) / len(first_hundred))

    with open(run_dir / "evaluations.csv") as file:
        evaluations = list(csv.DictReader(file))
    assert len(evaluations) == 3
    assert [step for step, _ in scalars["eval/mean_reward"]] == [int(row["step"]) for row in evaluations]
    assert [value for _, value in scalars["eval/mean_reward"]] == pytest.approx(
        [float(row["mean_return"]) for row in evaluations])
    assert len(scalars["train/loss"]) > 0 and len(scalars["time/fps"]) == len(episodes)


def test_rl_zoos_tensorboard_log_folder_gets_sb3s_layout(tmp_path):
    # RL Zoo's --tensorboard-log DIR: DIR/<env>/<algo>_<n>, n the run's number (SB3's ALGO_n)
    for _ in range(2):
        result = zoo("train", "dqn", "CartPole-v1", "--steps", 600, "--eval-freq", 0, "-tb", "tb", cwd=tmp_path)
        assert result.exit_code == 0 and "tensorboard --logdir tb" in result.output, result.output
    assert sorted(path.name for path in (tmp_path / "tb" / "CartPole-v1").iterdir()) == ["dqn_1", "dqn_2"]
    assert len(_scalars(tmp_path / "tb" / "CartPole-v1" / "dqn_2")["rollout/episode_return"]) > 5
    assert not (tmp_path / "runs" / "dqn" / "CartPole-v1_1" / "tensorboard").exists()
    refused = zoo("train", "ucb", "BernoulliBandit-v0", "--tensorboard-log", "tb", cwd=tmp_path)
    assert refused.exit_code == 1 and "--tensorboard-log is for the deep-RL algos" in refused.stderr
    # a file where the folder belongs: one line each (was a NotADirectoryError traceback), no run left
    (tmp_path / "a_file").write_text("")
    refused = zoo("train", "dqn", "CartPole-v1", "--steps", 300, "-tb", "a_file", cwd=tmp_path)
    assert refused.exit_code == 1 and "--tensorboard-log a_file is a file; name a folder" in refused.stderr
    (tmp_path / "tb2").mkdir()
    (tmp_path / "tb2" / "CartPole-v1").write_text("")
    refused = zoo("train", "dqn", "CartPole-v1", "--steps", 300, "-tb", "tb2", cwd=tmp_path)
    assert refused.exit_code == 1 and "Cannot write TensorBoard logs to tb2" in refused.stderr, refused.output
    assert sorted(path.name for path in (tmp_path / "runs" / "dqn").iterdir()) == ["CartPole-v1_1", "CartPole-v1_2"]


def test_tensorboard_is_refused_for_algos_without_a_learning_curve(tmp_path):
    result = zoo("train", "value_iteration", "CliffWalking4x12-v0", "--tensorboard", cwd=tmp_path)
    assert result.exit_code == 1
    assert "--tensorboard is for the deep-RL algos" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_missing_tensorboard_package_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now raises ImportError
    result = zoo("train", "dqn", "CartPole-v1", "--steps", 100, "--tensorboard", cwd=tmp_path)
    assert result.exit_code == 1
    assert "pip install 'zoo[tensorboard]'" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "runs").exists()
