"""`zoo plot`: learning curves over seeds, bandit regret, DP value maps."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from zoo.cli import app
from zoo.errors import ZooError
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
    # for a page or a paper: svg and pdf, every figure in the format asked for
    for suffix, starts in ((".svg", b"<?xml"), (".pdf", b"%PDF")):
        result = CliRunner().invoke(app, ["plot", *map(str, runs), str(planner), "--out", str(tmp_path / f"q{suffix}")])
        assert result.exit_code == 0, result.output
        written = sorted(tmp_path.glob("q*"))
        assert [path.suffix for path in written] == [suffix, suffix]
        assert all(path.read_bytes().startswith(starts) for path in written)
        for path in written:
            path.unlink()
    # a planner on an env that is no grid: left out of a folder, said (an error when named)
    taxi = train("value_iteration", "Taxi-v4", seed=0, out_dir=tmp_path).run_dir
    result = CliRunner().invoke(app, ["plot", str(tmp_path / "value_iteration"), "--out", str(tmp_path / "v.png")])
    assert result.exit_code == 0, result.output
    said = "".join(result.output.split())  # rich wraps the long path anywhere
    assert "".join(f"left out {taxi}: Taxi-v4 is not a grid, so its value function has no map".split()) in said
    assert (tmp_path / "v.png").exists() and not list(tmp_path.glob("v_*"))  # the cliff's map alone
    result = CliRunner().invoke(app, ["plot", str(taxi), "--out", str(tmp_path / "w.png")])
    assert result.exit_code == 1 and "Taxi-v4 is not a grid" in result.output


def test_seeds_are_averaged_on_a_common_grid_and_a_seed_that_ended_early_holds_its_last_value():
    steps = np.array([10.0, 20.0, 30.0])
    grid, mean, std = _mean_and_std([(steps, np.array([0.0, 10.0, 20.0])), (steps + 5, np.array([2.0, 12.0, 22.0]))])
    assert grid[0] == 10 and grid[-1] == 35
    inside = (grid >= 15) & (grid <= 30)
    np.testing.assert_allclose(mean[inside], 0.5 * ((grid - 10) + (grid - 15) + 2)[inside], atol=1e-9)
    assert mean[-1] == 0.5 * (20.0 + 22.0) and mean[0] == 0.5 * (0.0 + 2.0)  # held at their ends
    np.testing.assert_allclose(_smooth(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1.0, 2.0, 4.0, 6.0])


def test_plot_errors_are_clear(tmp_path):
    result = CliRunner().invoke(app, ["plot", str(tmp_path), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "not a run directory" in result.output
    result = CliRunner().invoke(app, ["plot", str(tmp_path / "typo"), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "typo does not exist" in result.output
    result = CliRunner().invoke(app, ["plot", str(tmp_path), "--out", str(tmp_path / "x.jpg")])
    assert result.exit_code == 1 and "--out must name a .png, .svg, .pdf file, got" in result.output


def drawn_figure(monkeypatch, *args, **kwargs):
    import zoo.plots

    figures = []
    monkeypatch.setattr(zoo.plots, "_save", lambda plt, figure, path: figures.append(figure) or path)
    zoo.plots.plot_runs(*args, **kwargs)
    return figures[0]


def drawn_lines(monkeypatch, *args, **kwargs):
    """The labelled lines of the learning figure plot_runs draws: {label: (x, y)}."""
    (axes,) = drawn_figure(monkeypatch, *args, **kwargs).axes
    return {line.get_label(): (line.get_xdata(), line.get_ydata()) for line in axes.get_lines()}


def test_runs_of_several_envs_get_an_axes_each_and_one_episode_shows(tmp_path, monkeypatch):
    pendulum = fake_run(tmp_path / "pendulum", "zoo", [-900, -150])
    cartpole = tmp_path / "cartpole"
    cartpole.mkdir()
    (cartpole / "config.yml").write_text("algo: td3\nenv_id: CartPole-v1\nlibrary: zoo\n")  # one episode logged
    (cartpole / "progress.csv").write_text("step,episode,return,length,loss,time\n40,1,40,40,,0.5\n")
    figure = drawn_figure(monkeypatch, [pendulum, cartpole], tmp_path / "c.png", curves="training")
    # one scale for both flattened CartPole's 40 against Pendulum's -1500
    assert [axes.get_title() for axes in figure.axes] == ["CartPole-v1", "Pendulum-v1"]
    (one_episode,) = figure.axes[0].get_lines()
    assert list(one_episode.get_xdata()) == [40] and one_episode.get_marker() == "o"  # a lone point, drawn
    # the algorithm keeps its colour across the env axes
    assert one_episode.get_color() == figure.axes[1].get_lines()[0].get_color()


def test_evaluation_curves_by_default_against_steps_or_seconds(tmp_path, monkeypatch):
    evaluated = {"n_timesteps": 1500, "eval_freq": 500, "n_eval_episodes": 2, "stop_at_return": None}
    runs = [train("dqn", "CartPole-v1", seed=s, out_dir=tmp_path, overrides=evaluated).run_dir for s in (0, 1)]
    lines = drawn_lines(monkeypatch, runs, tmp_path / "c.png")
    evaluation = lines["dqn on CartPole-v1 (2 seeds): evaluation"]
    assert evaluation[0][0] == 500 and evaluation[0][-1] == 1500  # the evaluation steps
    assert "dqn on CartPole-v1 (2 seeds): training episodes" in lines
    seconds = drawn_lines(monkeypatch, runs, tmp_path / "c.png", x="seconds")
    evaluation_seconds = seconds["dqn on CartPole-v1 (2 seeds): evaluation"][0]
    logged = [float(row.split(",")[-1]) for run in runs
              for row in (run / "evaluations.csv").read_text().splitlines()[1:]]
    assert 0 < evaluation_seconds[0] <= evaluation_seconds[-1] == max(logged) < 60  # the logged wall clock
    only_training = drawn_lines(monkeypatch, runs, tmp_path / "c.png", curves="training")
    assert list(only_training) == ["dqn on CartPole-v1 (2 seeds)"]


def fake_run(folder, library, returns):
    folder.mkdir(parents=True)
    (folder / "config.yml").write_text(f"algo: td3\nenv_id: Pendulum-v1\nlibrary: {library}\n")
    (folder / "progress.csv").write_text("step,episode,return,length,loss,time\n200,1,-1500,200,,1.0\n"
                                         "400,2,-1200,200,,2.0\n")
    rows = "".join(f"{200 * (i + 1)},{r},1.0,200,{i + 1.5}\n" for i, r in enumerate(returns))
    (folder / "evaluations.csv").write_text("step,mean_return,std_return,mean_length,time\n" + rows)
    return folder


def test_zoos_runs_against_episodes_and_a_smoothing_window(tmp_path, monkeypatch):
    run = fake_run(tmp_path / "run", "zoo", [-900, -150])  # episodes end at steps 200 and 400
    lines = drawn_lines(monkeypatch, [run], tmp_path / "c.png", x="episodes", window=2)
    x, returns = lines["td3 on Pendulum-v1 (1 seed): training episodes"]
    assert (x[0], x[-1], returns[0], returns[-1]) == (1, 2, -1500, -1350)  # the trailing mean of 2 episodes
    evaluation_x = lines["td3 on Pendulum-v1 (1 seed): evaluation"][0]
    assert (evaluation_x[0], evaluation_x[-1]) == (1, 2)  # at steps 200 and 400
    time_axis = drawn_figure(monkeypatch, [run], tmp_path / "c.png", x="time")  # RL Zoo's name for seconds
    assert time_axis.axes[0].get_xlabel() == "wall-clock seconds since training started"


def test_sb3_runs_kept_by_the_benchmark_plot_beside_ours(tmp_path, monkeypatch):
    ours = fake_run(tmp_path / "ours", "zoo", [-900, -150])
    theirs = fake_run(tmp_path / "sb3", "sb3", [-1100, -600])
    lines = drawn_lines(monkeypatch, [ours, theirs], tmp_path / "c.png", x="seconds")
    x, y = lines["SB3 td3 on Pendulum-v1 (1 seed): evaluation"]
    assert (y[0], y[-1]) == (-1100, -600) and (x[0], x[-1]) == (1.5, 2.5)
    x, y = lines["td3 on Pendulum-v1 (1 seed): evaluation"]
    assert (y[0], y[-1]) == (-900, -150)


def test_a_folder_of_runs_stands_for_its_runs_and_reruns_of_a_seed_count_as_runs(tmp_path, monkeypatch):
    # RL Zoo's plot scripts take a log folder: runs/td3 (runs one level down) or runs/ (two)
    for number, seed in ((1, 0), (2, 1)):
        fake_run(tmp_path / "runs" / "td3" / f"Pendulum-v1_{number}", "zoo", [-900, -150])
        config = tmp_path / "runs" / "td3" / f"Pendulum-v1_{number}" / "config.yml"
        config.write_text(config.read_text() + f"seed: {seed}\n")
    for folder in (tmp_path / "runs" / "td3", tmp_path / "runs"):
        assert "td3 on Pendulum-v1 (2 seeds): evaluation" in drawn_lines(monkeypatch, [folder], tmp_path / "c.png")
    config = tmp_path / "runs" / "td3" / "Pendulum-v1_2" / "config.yml"
    config.write_text(config.read_text().replace("seed: 1", "seed: 0"))  # a rerun (or resume) of seed 0
    lines = drawn_lines(monkeypatch, [tmp_path / "runs"], tmp_path / "c.png")
    assert "td3 on Pendulum-v1 (2 runs): evaluation" in lines
    # a run in the folder with nothing to draw yet (just started) is left out, said; named, an error
    started = tmp_path / "runs" / "td3" / "Pendulum-v1_3"
    started.mkdir()
    (started / "config.yml").write_text("algo: td3\nenv_id: Pendulum-v1\nlibrary: zoo\nseed: 2\n")
    (started / "progress.csv").write_text("step,episode,return,length,loss,time\n")
    left_out: list = []
    lines = drawn_lines(monkeypatch, [tmp_path / "runs"], tmp_path / "c.png", on_skip=lambda *why: left_out.append(why))
    assert "td3 on Pendulum-v1 (2 runs): evaluation" in lines
    assert left_out == [(started, "no logged episodes yet")]
    with pytest.raises(ZooError, match="Pendulum-v1_3 has no logged episodes yet"):
        drawn_lines(monkeypatch, [started], tmp_path / "c.png")
    with pytest.raises(ZooError, match="Nothing to plot: no run in .*td3_started has anything to draw yet"):
        (tmp_path / "td3_started").mkdir()
        started.rename(tmp_path / "td3_started" / "Pendulum-v1_3")
        drawn_lines(monkeypatch, [tmp_path / "td3_started"], tmp_path / "c.png")
    # a folder holding no runs is still not a run directory
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="is not a run directory"):
        drawn_lines(monkeypatch, [tmp_path / "empty"], tmp_path / "c.png")


def rl_zoo_run(folder, seed, evaluations=((1000, [100, 120]), (2000, [300, 500]))):
    """A run folder as RL Zoo writes it (the formats checked against SB3 2.x's Monitor,
    EvalCallback and RL Zoo's args.yml): two training envs' monitor files, evaluations.npz,
    <env>/args.yml, and the model zip zoo never opens."""
    from collections import OrderedDict

    import yaml

    (folder / "CartPole-v1").mkdir(parents=True)
    for env_index, episodes in enumerate(([(20.0, 20, 0.5), (40.0, 40, 1.5)], [(30.0, 30, 1.0), (60.0, 60, 2.0)])):
        rows = "".join(f"{r},{length},{t}\n" for r, length, t in episodes)
        (folder / f"{env_index}.monitor.csv").write_text('#{"t_start": 1795791752.05, "env_id": "CartPole-v1"}\n'
                                                         "r,l,t\n" + rows)
    steps = np.array([step for step, _ in evaluations])
    np.savez(folder / "evaluations.npz", timesteps=steps, results=np.array([r for _, r in evaluations], float),
             ep_lengths=np.array([r for _, r in evaluations]))
    with open(folder / "CartPole-v1" / "args.yml", "w") as file:
        yaml.dump(OrderedDict([("algo", "ppo"), ("env", "CartPole-v1"), ("seed", seed)]), file)
    (folder / "CartPole-v1.zip").write_bytes(b"SB3's model: a pickle inside, never opened")
    return folder


def test_rl_zoos_own_log_folder_plots_as_sb3s_runs(tmp_path, monkeypatch):
    for number, seed in ((1, 3), (2, 4)):
        rl_zoo_run(tmp_path / "logs" / "ppo" / f"CartPole-v1_{number}", seed)
    lines = drawn_lines(monkeypatch, [tmp_path / "logs"], tmp_path / "c.png")
    steps, mean = lines["SB3 ppo on CartPole-v1 (2 seeds): evaluation"]
    assert (steps[0], steps[-1], mean[0], mean[-1]) == (1000, 2000, 110, 400)
    # training episodes of both envs in the order they ended, their lengths summed: 20, 50, 90, 150
    steps, returns = lines["SB3 ppo on CartPole-v1 (2 seeds): training episodes"]
    assert (steps[0], steps[-1]) == (20, 150) and returns[0] == 20 and returns[-1] == np.mean([20, 30, 40, 60])
    # against seconds: the monitor's clock, the evaluations placed on it by their env steps
    seconds = drawn_lines(monkeypatch, [tmp_path / "logs" / "ppo"], tmp_path / "c.png", x="seconds")
    assert list(seconds["SB3 ppo on CartPole-v1 (2 seeds): training episodes"][0][[0, -1]]) == [0.5, 2.0]
    assert seconds["SB3 ppo on CartPole-v1 (2 seeds): evaluation"][0][-1] == 2.0  # 2000 steps: past the last episode
    # against episodes (RL Zoo's -x episodes): the training episodes counted, the evaluations
    # placed at the count their env steps had reached; -w averages that many episodes
    episodes = drawn_lines(monkeypatch, [tmp_path / "logs"], tmp_path / "c.png", x="episodes", window=1)
    x, returns = episodes["SB3 ppo on CartPole-v1 (2 seeds): training episodes"]
    assert (x[0], x[-1], returns[0], returns[-1]) == (1, 4, 20, 60)  # window 1: the episodes' own returns
    assert episodes["SB3 ppo on CartPole-v1 (2 seeds): evaluation"][0][-1] == 4  # 2000 steps: past the 4th
    # evaluations alone (no monitor files): drawn against steps; asked for training curves, said why
    alone = rl_zoo_run(tmp_path / "alone" / "ppo" / "CartPole-v1_1", 5)
    for monitor in alone.glob("*.monitor.csv"):
        monitor.unlink()
    assert "SB3 ppo on CartPole-v1 (1 seed): evaluation" in drawn_lines(monkeypatch, [alone], tmp_path / "c.png")
    with pytest.raises(ZooError, match="none of these runs logged training episodes"):
        drawn_lines(monkeypatch, [alone], tmp_path / "c.png", curves="training")
    with pytest.raises(ZooError, match="has evaluations but no monitor file, so no clock"):
        drawn_lines(monkeypatch, [alone], tmp_path / "c.png", x="seconds")
    # an evaluations.npz holding a pickle (an object array) is refused unread
    hostile = rl_zoo_run(tmp_path / "hostile" / "ppo" / "CartPole-v1_1", 0)
    np.savez(hostile / "evaluations.npz", timesteps=np.array([1000]), results=np.array([[object()]], dtype=object))
    with pytest.raises(ZooError, match="is not an SB3 evaluations.npz"):
        drawn_lines(monkeypatch, [hostile], tmp_path / "c.png")
    # one that inflates past the bound is refused before any array is read
    import zoo.rl_zoo_logs

    np.savez_compressed(hostile / "evaluations.npz", timesteps=np.arange(10), results=np.zeros((10, 10_000)))
    monkeypatch.setattr(zoo.rl_zoo_logs, "MAX_EVALUATIONS_BYTES", 100_000)
    with pytest.raises(ZooError, match="inflates to"):
        drawn_lines(monkeypatch, [hostile], tmp_path / "c.png")


def test_plot_option_errors_name_the_option(tmp_path):
    quick = {"n_timesteps": 600, "eval_freq": 0, "stop_at_return": None}
    run = str(train("dqn", "CartPole-v1", seed=0, out_dir=tmp_path, overrides=quick).run_dir)
    for args, says in ((["--x", "minutes"], "--x is steps, seconds or episodes"),
                       (["-w", "0"], "--window is a number of episodes from 1 to 1000000, got 0"),
                       (["--curves", "evals"], "--curves is one of auto, evaluation, training"),
                       (["--curves", "evaluation"], "none of these runs has evaluations")):
        result = CliRunner().invoke(app, ["plot", run, "--out", str(tmp_path / "x.png"), *args])
        assert result.exit_code == 1 and says in result.output, result.output
    fake_run(tmp_path / "evil", "evil", [1])
    result = CliRunner().invoke(app, ["plot", str(tmp_path / "evil"), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "'library' is 'evil'" in result.output
