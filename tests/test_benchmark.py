"""`zoo benchmark`: tiny budgets only. Real benchmarks are run on purpose, never timed here."""

import json

import pytest
from typer.testing import CliRunner

import zoo.benchmark.sb3
from zoo.benchmark import run_benchmark
from zoo.benchmark.sb3 import sb3_available
from zoo.cli import app

TINY = {"learning_starts": 100, "train_freq": 4, "net_arch": [16]}


def test_benchmark_command_prints_a_table_and_writes_json_and_markdown(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "dqn", "CartPole-v1", "--seeds", "2", "--steps", "400",
                                      "--episodes", "2", "--no-sb3", "--out", str(tmp_path),
                                      "--hp", "learning_starts=100", "--hp", "net_arch=[16]"])
    assert result.exit_code == 0, result.output
    assert "zoo seed 0: return" in result.output and "zoo seed 1: return" in result.output
    (json_path,) = (tmp_path / "benchmarks").glob("dqn_CartPole-v1_*.json")
    report = json.loads(json_path.read_text())
    assert report["n_timesteps"] == 400 and report["hyperparams"]["net_arch"] == [16]
    assert [r["seed"] for r in report["results"]] == [0, 1]
    assert all(r["library"] == "zoo" and r["steps"] == 400 and r["seconds"] > 0 for r in report["results"])
    assert report["summary"]["zoo"]["seeds"] == 2
    markdown = json_path.with_suffix(".md").read_text()
    assert "| zoo |" in markdown and "400 steps" in markdown


def test_benchmark_evaluates_each_seed_on_its_own_eval_seed(tmp_path):
    report = run_benchmark("dqn", "CartPole-v1", [3], n_timesteps=300, overrides=TINY, eval_episodes=3,
                           compare_sb3=False, out_dir=tmp_path)
    (row,) = report.results
    assert row.seed == 3 and row.steps == 300 and row.threads == 1 and row.episodes > 0


def test_benchmark_of_an_algo_without_a_budget_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "value_iteration", "CliffWalking4x12-v0", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "no training budget" in result.stderr


def test_insisting_on_sb3_without_it_installed_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo.benchmark.sb3, "sb3_available", lambda: False)
    result = CliRunner().invoke(app, ["benchmark", "dqn", "CartPole-v1", "--steps", "200", "--sb3",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 1 and "pip install 'zoo[benchmark]'" in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_sb3_runs_side_by_side_on_the_same_hyperparameters(tmp_path):
    report = run_benchmark("double_dqn", "CartPole-v1", [0], n_timesteps=300, overrides=TINY, eval_episodes=2,
                           compare_sb3=True, out_dir=tmp_path)
    assert [r.library for r in report.results] == ["zoo", "sb3"]
    assert report.time_ratio() > 0
    assert any("no Double or Dueling DQN" in note for note in report.notes)


@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_sb3_a2c_runs_side_by_side_on_parallel_envs(tmp_path):
    report = run_benchmark("actor_critic", "CartPole-v1", [0], n_timesteps=400, eval_episodes=2,
                           overrides={"eval_freq": 0, "stop_at_return": None}, compare_sb3=True, out_dir=tmp_path)
    assert [r.library for r in report.results] == ["zoo", "sb3"]
    assert report.results[1].steps == 400 and any("Adam on both sides" in note for note in report.notes)


@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_sb3_a2c_gets_our_optimizer():
    import gymnasium as gym

    from zoo.benchmark.sb3 import SB3_EQUIVALENTS
    from zoo.config import resolve_hyperparams
    from zoo.registry import get_algo

    space = gym.spaces.Discrete(2)
    for hyperparams, use_rms_prop in ((None, False), ("rl_zoo", True)):
        config = resolve_hyperparams(get_algo("actor_critic"), "CartPole-v1", None, hyperparams).config
        _, kwargs, _ = SB3_EQUIVALENTS["actor_critic"](config, space)
        assert (kwargs["use_rms_prop"], kwargs["rms_prop_eps"]) == (use_rms_prop, 1e-5)


@pytest.mark.slow  # two CNN trainings, ~10 s; the sweep's argument errors are tested in the default run
def test_backbone_sweep_writes_one_row_per_backbone_with_its_parameter_count(tmp_path):
    from zoo.agents.vision_dqn import VisionDQNConfig, VisionQNetwork

    result = CliRunner().invoke(app, ["benchmark", "vision_dqn", "CliffWalking4x12-v0", "--seeds", "1",
                                      "--steps", "300", "--episodes", "1", "--out", str(tmp_path),
                                      "--hp", "learning_starts=100", "--hp", "eval_freq=0",
                                      "--hp", "stop_at_return=null", "--backbone", "lenet",
                                      "--backbone", "nin {width: 0.25, dropout: 0.0}"])
    assert result.exit_code == 0, result.output
    (json_path,) = (tmp_path / "benchmarks").glob("vision_dqn_backbones_CliffWalking4x12-v0_*.json")
    rows = json.loads(json_path.read_text())["rows"]
    assert [row["backbone"] for row in rows] == ["lenet", "nin"]
    # lenet without options keeps the entry's own (ReLU); nin gets exactly what was given
    assert rows[0]["options"] == {"activation": "relu"} and rows[1]["options"] == {"width": 0.25, "dropout": 0.0}
    for row in rows:
        config = VisionDQNConfig(backbone=row["backbone"], backbone_options=row["options"])
        network = VisionQNetwork((3, 4, 12), 4, config)  # the cliff's 4x12 RGB render, 4 actions
        assert row["parameters"] == sum(p.numel() for p in network.parameters()) and row["parameters"] > 0
        assert row["steps_per_second"] > 0 and len(row["returns"]) == 1
    markdown = json_path.with_suffix(".md").read_text()
    assert "| lenet | activation: relu |" in markdown and "| nin | width: 0.25, dropout: 0.0 |" in markdown


@pytest.mark.parametrize("args, message", [
    (["vision_dqn", "CliffWalking4x12-v0", "--backbone", "lenet", "--backbone", "lenett"],
     "unknown backbone 'lenett'. Did you mean: lenet? Available"),
    (["vision_dqn", "CliffWalking4x12-v0", "--backbone", "nin {width: [}"], "is not valid YAML"),
    (["vision_dqn", "CliffWalking4x12-v0", "--backbone", "nin 0.5"], "write the options as a mapping"),
    (["vision_dqn", "CliffWalking4x12-v0", "--backbone", "nin {widht: 0.5}"], "has no option 'widht'"),
    (["dqn", "CartPole-v1", "--backbone", "lenet"], "--backbone is for vision_dqn"),
])
def test_backbone_sweep_mistakes_are_clear_errors(tmp_path, args, message):
    result = CliRunner().invoke(app, ["benchmark", *args, "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert message in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.output + result.stderr


@pytest.mark.slow  # an SB3 PPO training
@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_sb3_ppo_takes_our_schedules_and_normalisation(tmp_path):
    import stable_baselines3

    from zoo.benchmark.sb3 import SB3_EQUIVALENTS
    from zoo.config import resolve_hyperparams
    from zoo.registry import get_algo

    config = resolve_hyperparams(get_algo("ppo"), "CartPole-v1", hyperparams="rl_zoo").config
    sb3_class, kwargs, _ = SB3_EQUIVALENTS["ppo"](config, None)
    assert sb3_class is stable_baselines3.PPO
    assert kwargs["learning_rate"](0.5) == pytest.approx(0.0005) and kwargs["clip_range"](1.0) == pytest.approx(0.2)
    report = run_benchmark("ppo", "Pendulum-v1", [0], n_timesteps=512, eval_episodes=1,
                           overrides={"eval_freq": 0, "stop_at_return": None, "n_envs": 2, "n_steps": 128},
                           compare_sb3=True, out_dir=tmp_path)
    assert [r.library for r in report.results] == ["zoo", "sb3"]
    assert any("VecNormalize" in note for note in report.notes)


@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_sb3_td3_is_sb3s_td3_with_our_flags():
    import gymnasium as gym
    import stable_baselines3

    from zoo.benchmark.sb3 import SB3_EQUIVALENTS
    from zoo.config import resolve_hyperparams
    from zoo.registry import get_algo

    box = gym.spaces.Box(-2.0, 2.0, (1,))
    config = resolve_hyperparams(get_algo("td3"), "Pendulum-v1").config
    sb3_class, kwargs, _ = SB3_EQUIVALENTS["ddpg"](config, box)
    assert sb3_class is stable_baselines3.TD3 and kwargs["policy_delay"] == 2
    assert kwargs["target_policy_noise"] == 0.2 and kwargs["policy_kwargs"]["n_critics"] == 2
    ddpg_class, _, _ = SB3_EQUIVALENTS["ddpg"](resolve_hyperparams(get_algo("ddpg"), "Pendulum-v1").config, box)
    assert ddpg_class is stable_baselines3.DDPG


@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_sb3_sac_explores_with_gsde_when_ours_does():
    import gymnasium as gym

    from zoo.benchmark.sb3 import SB3_EQUIVALENTS
    from zoo.config import resolve_hyperparams
    from zoo.registry import get_algo

    env = gym.make("MountainCarContinuous-v0")
    config = resolve_hyperparams(get_algo("sac"), "MountainCarContinuous-v0", hyperparams="rl_zoo").config
    assert config.use_sde
    sb3_class, kwargs, _ = SB3_EQUIVALENTS["sac"](config, env.action_space)
    model = sb3_class("MlpPolicy", env, **kwargs)
    assert model.use_sde and model.sde_sample_freq == -1 and model.actor.use_sde
    assert float(model.actor.log_std.detach().mean()) == pytest.approx(-3.67)
    assert not model.use_sde_at_warmup
    at_warmup = resolve_hyperparams(get_algo("sac"), "MountainCarContinuous-v0", {"use_sde_at_warmup": True},
                                    hyperparams="rl_zoo").config
    assert sb3_class("MlpPolicy", env, **SB3_EQUIVALENTS["sac"](at_warmup, env.action_space)[1]).use_sde_at_warmup
    plain = resolve_hyperparams(get_algo("sac"), "Pendulum-v1", hyperparams="rl_zoo").config
    assert "use_sde" not in SB3_EQUIVALENTS["sac"](plain, env.action_space)[1]


@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
@pytest.mark.parametrize("algo, env_id, sb3_name", [
    ("sac", "Pendulum-v1", "SAC"), ("ddpg", "Pendulum-v1", "DDPG"), ("td3", "Pendulum-v1", "TD3"),
    ("dqn", "CartPole-v1", "DQN"), ("actor_critic", "CartPole-v1", "A2C"), ("ppo", "CartPole-v1", "PPO")])
def test_sb3_takes_our_learning_rate_schedule(algo, env_id, sb3_name):
    import gymnasium as gym
    import stable_baselines3

    from zoo.benchmark.sb3 import SB3_EQUIVALENTS
    from zoo.config import resolve_hyperparams
    from zoo.registry import get_algo

    spec = get_algo(algo)
    space = gym.make(env_id).action_space
    for value, at_half in (("lin_1e-3", 5e-4), (1e-3, None)):
        config = resolve_hyperparams(spec, env_id, {"learning_rate": value}).config
        sb3_class, kwargs, _ = SB3_EQUIVALENTS[spec.hyperparams_name](config, space)
        assert sb3_class is getattr(stable_baselines3, sb3_name)
        if at_half is None:
            assert kwargs["learning_rate"] == 1e-3
        else:
            assert kwargs["learning_rate"](0.5) == pytest.approx(at_half)


# ---- --time-to-solve: whole processes, ours on our entry, SB3 on RL Zoo's ------------------

TINY_HP = ["--hp", "n_timesteps=600", "--hp", "learning_starts=100", "--hp", "eval_freq=300",
           "--hp", "n_eval_episodes=2", "--hp", "stop_at_return=null", "--hp", "net_arch=[16]"]


def test_time_to_solve_times_whole_zoo_train_processes_and_keeps_their_runs(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "dqn", "CartPole-v1", "--time-to-solve", "--seeds", "1",
                                      "--first-seed", "7", "--no-sb3", "--episodes", "2", "--target", "1",
                                      "--out", str(tmp_path), *TINY_HP], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    (json_path,) = (tmp_path / "benchmarks").glob("dqn_CartPole-v1_*.json")
    report = json.loads(json_path.read_text())
    (row,) = report["results"]
    assert (row["library"], row["seed"], row["steps"]) == ("zoo", 7, 600)
    assert "zoo: 1 of 1 seeds reach 1" in report["notes"]
    (run,) = (tmp_path / "benchmarks" / "time_to_solve").glob("dqn_CartPole-v1_*/zoo/seed_7/dqn/CartPole-v1_1")
    assert len((run / "evaluations.csv").read_text().splitlines()) == 3  # header + evaluations at 300 and 600
    assert "seed 7" in (run / "config.yml").read_text() or "seed: 7" in (run / "config.yml").read_text()
    # the whole process: longer than the training it logged (imports, building, saving)
    logged = float((run / "progress.csv").read_text().splitlines()[-1].split(",")[-1])
    assert row["seconds"] > logged


@pytest.mark.slow  # ~15 s: a benchmark process and its zoo train child
def test_ctrl_c_during_time_to_solve_is_one_line_exit_130_and_the_childs_run_keeps_its_model(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "zoo", "benchmark", "dqn", "CartPole-v1", "--time-to-solve", "--seeds", "2",
               "--no-sb3", "--out", str(tmp_path), "--hp", "n_timesteps=1000000", "--hp", "stop_at_return=null"]
    parent = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True, env={**os.environ, "COLUMNS": "200"})
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("benchmarks/time_to_solve/*/zoo/seed_0/dqn/*/progress.csv")):
        assert time.monotonic() < deadline and parent.poll() is None, "the zoo train child never started training"
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(parent.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
    _, stderr = parent.communicate(timeout=60)
    assert parent.returncode == 130, stderr
    assert "Interrupted by SIGINT" in stderr and "Traceback" not in stderr
    (run,) = tmp_path.glob("benchmarks/time_to_solve/*/zoo/seed_0/dqn/CartPole-v1_1")
    assert (run / "model.zip").is_file() and str(run.parent.parent) in stderr.replace("\n", "")
    assert not list(tmp_path.glob("benchmarks/time_to_solve/*/zoo/seed_1"))  # nothing after the interrupt


def test_time_to_solve_errors_name_the_flag(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for args, says in ((["--sb3-steps", "0"], "--sb3-steps must be at least 1"),
                       (["--steps", "0"], "--steps must be at least 1, got 0"),
                       (["--seeds", "0"], "--seeds must be at least 1, got 0"),
                       (["--episodes", "-2"], "--episodes must be at least 1, got -2"),
                       (["--steps", str(10**20)], "--steps is out of range"),
                       (["--sb3-eval-freq", "-1"], "--sb3-eval-freq must be at least 0"),
                       (["--first-seed", "-3"], "--first-seed must be a whole number"),
                       (["--no-sb3", "--out", str(a_file)], "cannot make a benchmark folder in it")):
        result = CliRunner().invoke(app, ["benchmark", "dqn", "CartPole-v1", "--time-to-solve", "--out",
                                          str(tmp_path), *args])  # a later --out wins
        assert result.exit_code == 1 and says in result.stderr, result.output


@pytest.mark.slow  # ~11 s: a zoo train and an SB3 process; runs in .ci/run's slow pass
@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_time_to_solve_runs_sb3_on_rl_zoos_entry_in_its_own_process_and_keeps_its_evaluations(tmp_path):
    from zoo.benchmark.time_to_solve import run_time_to_solve
    from zoo.plots import plot_runs

    pytest.importorskip("matplotlib")
    overrides = {"n_timesteps": 600, "learning_starts": 100, "eval_freq": 300, "n_eval_episodes": 2,
                 "stop_at_return": None, "net_arch": [16]}
    report, folder = run_time_to_solve("dqn", "CartPole-v1", [0], overrides=overrides, eval_episodes=2,
                                       compare_sb3=True, sb3_steps=400, sb3_eval_freq=200, out_dir=tmp_path)
    assert [r.library for r in report.results] == ["zoo", "sb3"]
    sb3 = report.results[1]
    assert sb3.steps >= 400 and sb3.seconds > 0 and report.time_ratio() > 0  # SB3 ends on a whole rollout
    assert any("RL Zoo's entry" in note and "400 steps (--sb3-steps)" in note for note in report.notes)
    sb3_run = folder / "sb3" / "seed_0"
    assert "library: sb3" in (sb3_run / "config.yml").read_text()
    assert [row.split(",")[0] for row in (sb3_run / "evaluations.csv").read_text().splitlines()[1:]] == ["200", "400"]
    assert not list(sb3_run.glob("*.zip"))  # nothing to unpickle
    (ours,) = folder.glob("zoo/seed_0/dqn/CartPole-v1_1")
    assert plot_runs([ours, sb3_run], tmp_path / "both.png", x="seconds") == [tmp_path / "both.png"]


# ---- Pendulum's judge sets: the best mean return any policy reaches (zoo/benchmark/ceiling.py) ----

SMALL_GRID = (128, 81, 21)  # ~1 s; the shipped grid is 4x finer on each state axis


def test_the_ceiling_solvers_pendulum_steps_as_gymnasiums_does():
    import gymnasium as gym
    import numpy as np

    from zoo.benchmark.ceiling import PendulumDynamics

    env = gym.make("Pendulum-v1", g=9.81)
    dynamics = PendulumDynamics.of(env)
    assert dynamics is not None and dynamics.gravity == 9.81  # read from the env, not assumed
    rng = np.random.default_rng(0)
    for _ in range(50):
        env.reset(seed=int(rng.integers(1000)))
        env.unwrapped.state = np.array([rng.uniform(-7, 7), rng.uniform(-8, 8)])
        torque = rng.uniform(-3, 3)  # beyond the limit too: clipped alike
        angle, velocity, cost = dynamics.step(*env.unwrapped.state, torque)
        _, reward, *_ = env.step(np.array([torque], dtype=np.float32))
        np.testing.assert_allclose([angle, velocity, -cost], [*env.unwrapped.state, reward], rtol=1e-5, atol=1e-5)
    assert PendulumDynamics.of(gym.make("CartPole-v1")) is None


def test_the_ceiling_is_a_real_policys_return_above_simple_policies_and_near_zero_upright():
    import gymnasium as gym
    import numpy as np

    from zoo.benchmark.ceiling import PendulumDynamics, PendulumSolver, judge_ceilings
    from zoo.benchmark.runner import EVAL_SEED_OFFSET

    def mean_return(policy, seed, episodes=20):
        env, total = gym.make("Pendulum-v1"), 0.0
        for episode in range(episodes):
            env.reset(seed=EVAL_SEED_OFFSET + seed if episode == 0 else None)
            done = False
            while not done:
                _, reward, terminated, truncated, _ = env.step(np.array([policy(*env.unwrapped.state)], np.float32))
                total, done = total + reward, terminated or truncated
        return total / episodes

    def pump_and_hold(angle, velocity):  # energy pumping away from the top, a PD hold near it
        angle = (angle + np.pi) % (2 * np.pi) - np.pi
        return -10 * angle - 2 * velocity if abs(angle) < 0.5 else 2.0 * np.sign(velocity or 1.0)

    ceilings = judge_ceilings(lambda: gym.make("Pendulum-v1"), [0, 942], 20, SMALL_GRID)
    assert ceilings is not None and set(ceilings) == {0, 942}
    for seed, ceiling in ceilings.items():
        assert ceiling > mean_return(lambda angle, velocity: 0.0, seed) + 300
        assert ceiling > mean_return(pump_and_hold, seed) + 10
        assert -240 < ceiling < -100  # Pendulum's good policies score -120 to -180 over 20 episodes
    assert ceilings[942] < -170  # a judge set where -170 is out of every policy's reach (-173.0 on the fine grid)

    solver = PendulumSolver(PendulumDynamics.of(gym.make("Pendulum-v1")), 200, SMALL_GRID)
    angle, velocity, total = 0.05, 0.0, 0.0  # nearly upright (play() starts where reset puts it)
    for step in range(200):
        torque = solver.torque(angle, velocity, 200 - step)
        angle, velocity, cost = solver.dynamics.step(angle, velocity, torque)
        total -= cost
    assert total > -1.0  # held up: nothing to lose but the start's tilt


def test_judge_ceilings_is_none_for_other_envs():
    import gymnasium as gym

    from zoo.benchmark.ceiling import judge_ceilings

    assert judge_ceilings(lambda: gym.make("CartPole-v1"), [0], 2, SMALL_GRID) is None


def test_time_to_solve_on_pendulum_reports_each_judge_sets_ceiling_and_which_seeds_are_out_of_reach(
        tmp_path, monkeypatch):
    import zoo.benchmark.ceiling
    from zoo.benchmark.time_to_solve import run_time_to_solve

    monkeypatch.setattr(zoo.benchmark.ceiling, "GRID", SMALL_GRID)
    overrides = {"n_timesteps": 300, "learning_starts": 100, "eval_freq": 0, "stop_at_return": None,
                 "net_arch": [16]}
    report, _ = run_time_to_solve("sac", "Pendulum-v1", [942], overrides=overrides, eval_episodes=20,
                                  compare_sb3=False, target=-170, out_dir=tmp_path)
    (ceiling_note,) = [note for note in report.notes if "best mean return found for any policy" in note]
    assert "seed 942 -17" in ceiling_note
    assert "-170 is out of every policy's reach on 1 of 1 judge sets (seeds 942)" in report.notes
    assert "zoo: 0 of 1 seeds reach -170" in report.notes


# ---- --per-update: ours and SB3's updates, alternating blocks in one process ----------------


def test_per_update_times_our_updates_alone_and_writes_json(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "dqn", "CartPole-v1", "--per-update", "2", "--no-sb3",
                                      "--hp", "net_arch=[16]", "--hp", "batch_size=32", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # rich wraps the title
    assert "time per update, batch 32" in output and "zoo / SB3" not in output and "│ zoo │" in output
    (path,) = (tmp_path / "benchmarks").glob("per_update_dqn_CartPole-v1_*.json")
    written = json.loads(path.read_text())
    assert len(written["ours_ms"]) == 2 and all(ms > 0 for ms in written["ours_ms"])
    assert written["sb3_ms"] == [] and written["ratio_zoo_over_sb3"] is None
    assert written["hyperparams"]["net_arch"] == [16] and written["warmup_updates"] == 1000


@pytest.mark.parametrize("args, says", [
    (["ppo", "CartPole-v1", "--per-update", "2"], "ppo is not an off-policy algo"),
    (["dqn", "CartPole-v1", "--per-update", "0"], "--per-update must be at least 1"),
    (["dqn", "CartPole-v1", "--per-update", "2", "--time-to-solve"], "does not combine with --time-to-solve"),
])
def test_per_update_mistakes_are_one_clear_error(tmp_path, args, says):
    result = CliRunner().invoke(app, ["benchmark", *args, "--no-sb3", "--out", str(tmp_path)])
    assert result.exit_code == 1 and says in result.stderr, result.output


@pytest.mark.skipif(not sb3_available(), reason="Stable-Baselines3 is not installed (extra: benchmark)")
def test_per_update_alternates_ours_and_sb3s_updates_on_equal_buffers():
    from zoo.benchmark.per_update import run_per_update

    report = run_per_update("sac", "Pendulum-v1", 2, overrides={"net_arch": [16], "batch_size": 32},
                            compare_sb3=True, sb3_threads=1, warmup_updates=10)
    assert len(report.ours_ms) == len(report.sb3_ms) == 2 and report.ratio() > 0
    assert all(ms > 0 for ms in report.sb3_ms)
    assert report.threads["sb3"] == 1 and report.to_dict()["summary"]["sb3"]["blocks"] == 2


def test_per_update_times_blocks_after_untimed_warm_up_updates(monkeypatch):
    """Updates from a state like a training run's (dead ReLU units have appeared, and ours skip
    them): WARMUP_UPDATES untimed ones first (here 30), then the timed blocks."""
    from zoo.agents.dqn import DQNAgent
    from zoo.benchmark.per_update import BLOCK_UPDATES, WARMUP_UPDATES, run_per_update

    calls = []
    update = DQNAgent.update
    monkeypatch.setattr(DQNAgent, "update", lambda self, batch: calls.append(1) or update(self, batch))
    report = run_per_update("dqn", "CartPole-v1", 2, overrides={"net_arch": [16], "batch_size": 32},
                            compare_sb3=False, warmup_updates=30)
    assert len(calls) == 30 + 2 * BLOCK_UPDATES and len(report.ours_ms) == 2
    assert report.to_dict()["warmup_updates"] == 30 and WARMUP_UPDATES == 1000


def test_ctrl_c_during_per_update_is_one_line_and_exit_130(tmp_path, monkeypatch):
    import zoo.benchmark.per_update

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zoo.benchmark.per_update, "run_per_update", interrupted)
    result = CliRunner().invoke(app, ["benchmark", "dqn", "CartPole-v1", "--per-update", "2", "--out", str(tmp_path)])
    assert result.exit_code == 130 and result.stderr.strip() == "Interrupted by SIGINT: no report; exit code 130."
    assert not (tmp_path / "benchmarks").exists()
