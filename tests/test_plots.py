"""`zoo plot`: learning curves over seeds, bandit regret, DP value maps."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from zoo.cli import app
from zoo.plots import _mean_and_std, _smooth
from zoo.train import train

pytest.importorskip("matplotlib")


def png_size(path):
    import matplotlib.image

    return matplotlib.image.imread(path).shape[:2]


def test_learning_curves_of_two_algos_over_seeds(tmp_path):
    quick = {"n_timesteps": 1500, "eval_freq": 0, "stop_at_return": None}
    runs = [train("dqn", "CartPole-v1", seed=s, out_dir=tmp_path, overrides=quick).run_dir for s in (0, 1)]
    runs.append(train("actor_critic", "CartPole-v1", seed=0, out_dir=tmp_path,
                      overrides={"n_timesteps": 1500, "eval_freq": 0, "stop_at_return": None}).run_dir)
    result = CliRunner().invoke(app, ["plot", *map(str, runs), "--out", str(tmp_path / "curves.png")])
    assert result.exit_code == 0, result.output
    assert png_size(tmp_path / "curves.png") == (500, 800)


def test_regret_and_value_map(tmp_path):
    runs = [train(algo, "BernoulliBandit-v0", seed=0, out_dir=tmp_path, overrides={"n_timesteps": 300}).run_dir
            for algo in ("ucb", "thompson_sampling")]
    planner = train("value_iteration", "CliffWalking4x12-v0", seed=0, out_dir=tmp_path).run_dir
    result = CliRunner().invoke(app, ["plot", *map(str, runs), str(planner), "--out", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.png").exists()  # the regret figure
    value_maps = list(tmp_path.glob("p_value_iteration_*.png"))
    assert len(value_maps) == 1 and png_size(value_maps[0])[0] > 100


def test_seeds_are_averaged_on_a_common_grid():
    steps = np.array([10.0, 20.0, 30.0])
    grid, mean, std = _mean_and_std([(steps, np.array([0.0, 10.0, 20.0])), (steps + 5, np.array([2.0, 12.0, 22.0]))])
    assert grid[0] == 15 and grid[-1] == 30
    np.testing.assert_allclose(mean, 0.5 * ((grid - 10) + (grid - 15) * 1 + 2), atol=1e-9)
    np.testing.assert_allclose(_smooth(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1.0, 2.0, 4.0, 6.0])


def test_plot_errors_are_clear(tmp_path):
    result = CliRunner().invoke(app, ["plot", str(tmp_path), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "not a run directory" in result.output
    result = CliRunner().invoke(app, ["plot", str(tmp_path), "--out", str(tmp_path / "x.jpg")])
    assert result.exit_code == 1 and ".png" in result.output
