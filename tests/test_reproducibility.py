"""Same seed, same config, same machine: the same returns and the same learned weights."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from zoo.train import train

# one agent of each family, on a budget of seconds
CASES = [
    ("ucb", "BernoulliBandit-v0", {"n_timesteps": 500}),
    ("value_iteration", "FrozenLake-v1", {}),
    ("dqn", "CartPole-v1", {"n_timesteps": 2000, "learning_starts": 500, "train_freq": 4, "gradient_steps": 1,
                            "eval_freq": 0, "stop_at_return": None}),
    ("sac", "Pendulum-v1", {"n_timesteps": 400, "learning_starts": 200, "eval_freq": 0, "stop_at_return": None,
                            "net_arch": [32]}),
    ("actor_critic", "CartPole-v1", {"n_timesteps": 2000, "eval_freq": 0, "stop_at_return": None}),
]


def returns_of(result):
    progress = result.run_dir / "progress.csv"
    if not progress.exists():
        return [result.summary.get("mean_return")]
    with progress.open() as file:
        return [float(row["return"]) for row in csv.DictReader(file) if row.get("return") not in (None, "")]


@pytest.mark.parametrize("algo, env_id, overrides", CASES, ids=[case[0] for case in CASES])
def test_same_seed_same_results(algo, env_id, overrides, tmp_path):
    runs = [train(algo, env_id, seed=seed, overrides=overrides, out_dir=tmp_path / str(i))
            for i, seed in enumerate((3, 3, 4))]
    first, again, other = runs
    assert returns_of(first) == returns_of(again)
    first_arrays, again_arrays = first.agent.state_arrays(), again.agent.state_arrays()
    assert first_arrays.keys() == again_arrays.keys()
    for name in first_arrays:
        np.testing.assert_array_equal(first_arrays[name], again_arrays[name], err_msg=name)
    if algo != "value_iteration":  # a planner's result does not depend on the seed
        assert returns_of(first) != returns_of(other) or any(
            not np.array_equal(first_arrays[n], other.agent.state_arrays()[n]) for n in first_arrays)


def test_the_threads_left_by_whatever_ran_before_change_nothing(tmp_path):
    # A run's networks are built on its own n_threads: orthogonal init's QR sums in another order
    # on torch's default two threads than on one, so a PPO run started fresh and one started after
    # another run (which left one thread) learned different policies (CI, 2026-11-27).
    import torch

    overrides = {"n_timesteps": 256, "n_envs": 2, "n_steps": 128, "eval_freq": 0, "stop_at_return": None}
    weights, before = [], torch.get_num_threads()
    try:
        for threads in (2, 1):
            torch.set_num_threads(threads)  # as a fresh process, then as after another run
            result = train("ppo", "Pendulum-v1", seed=0, overrides=overrides, out_dir=tmp_path / str(threads))
            weights.append(result.agent.state_arrays())
    finally:
        torch.set_num_threads(before)
    for name in weights[0]:
        assert np.array_equal(weights[0][name], weights[1][name]), name
