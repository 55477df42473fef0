"""The hostile-input suite: what a careless or malicious user, file or signal can throw at zoo.

Every refusal is checked the same way (`refused`): exit code 1, one line on stderr that names
the problem, no traceback, and nothing left behind in the folder the command ran in. The
fault cases (signals, kills mid-save, a full disk) check that nothing learned is lost.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import broken_envs  # noqa: F401  (registers test/<Name>-v0)
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import zoo.files
import zoo.runs
from zoo.build import load_agent
from zoo.checkpoint import read_checkpoint
from zoo.cli import app
from zoo.config import build_config
from zoo.errors import ZooError

FUZZ = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def invoke(*args, cwd: Path):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(app, [str(a) for a in args])
    finally:
        os.chdir(old)


def files_under(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*")}


def refused(*args, cwd: Path, says: str | tuple[str, ...]):
    """Run the CLI in `cwd`; it must refuse with one clear line and leave `cwd` as it was."""
    before = files_under(cwd)
    result = invoke(*args, cwd=cwd)
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an escaped exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert len(lines[0]) < 600, f"an unbounded message: {len(lines[0])} characters"
    for fragment in (says,) if isinstance(says, str) else says:
        assert fragment in lines[0], lines[0]
    assert files_under(cwd) == before, f"left behind: {files_under(cwd) - before}"
    return lines[0]


# ---- checkpoints ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint_parts():
    """metadata and arrays of a real checkpoint (the shipped DQN), to forge from."""
    from zoo.paths import trained_dir

    return read_checkpoint(trained_dir() / "dqn" / "CartPole-v1" / "model.zip")


def forge(path: Path, metadata: dict, arrays: dict | None = None, *, raw_arrays: bytes | None = None) -> Path:
    payload = io.BytesIO()
    np.savez(payload, **(arrays or {}))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("arrays.npz", payload.getvalue() if raw_arrays is None else raw_arrays)
    return path


def evaluate(path: Path, cwd: Path, says, algo="dqn", env="CartPole-v1"):
    return refused("evaluate", algo, env, "--path", path, "--episodes", 1, cwd=cwd, says=says)


def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path, checkpoint_parts, monkeypatch):
    metadata, arrays = checkpoint_parts
    monkeypatch.setenv("ZOO_MAX_CHECKPOINT_MB", "1")
    bomb = forge(tmp_path / "bomb.zip", metadata, {**arrays, "padding": np.zeros(4 * 2**20, dtype=np.uint8)})
    assert bomb.stat().st_size < 2**20  # under the limit as a file: 4 MiB of zeros deflate to a few KiB
    evaluate(bomb, tmp_path, ("arrays.npz inflates to 4 MiB", "ZOO_MAX_CHECKPOINT_MB"))


def test_an_npz_member_claiming_more_than_it_holds_is_refused(tmp_path, checkpoint_parts):
    metadata, _ = checkpoint_parts
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (2**31, 2**31)})
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("q_network.torso.0.weight.npy", header.getvalue() + b"\0" * 64)
    evaluate(forge(tmp_path / "m.zip", metadata, raw_arrays=inner.getvalue()), tmp_path,
             "claims shape (2147483648, 2147483648), more than its")


@pytest.mark.parametrize("dtype, value", [("complex64", 1 + 2j), ("<U3", "abc"), ("V8", b"12345678")])
def test_arrays_of_other_than_plain_numbers_are_refused(tmp_path, checkpoint_parts, dtype, value):
    metadata, arrays = checkpoint_parts
    path = forge(tmp_path / "m.zip", metadata, {**arrays, "n_updates": np.array([value], dtype=dtype)})
    evaluate(path, tmp_path, "zoo reads only bool, signed int, unsigned int, float arrays")


def test_non_finite_weights_are_refused(tmp_path, checkpoint_parts):
    metadata, arrays = checkpoint_parts
    weights = arrays["q_network.torso.0.weight"].copy()
    weights[0, 0] = np.nan
    path = forge(tmp_path / "m.zip", metadata, {**arrays, "q_network.torso.0.weight": weights})
    evaluate(path, tmp_path, "'q_network.torso.0.weight' holds NaN or infinite values")


def test_optimizer_step_counts_that_differ_are_refused_naming_the_file(tmp_path, checkpoint_parts):
    """Every Adam step moves all of them together; numpy_step (zoo/optim.py) relies on it."""
    metadata, arrays = checkpoint_parts
    path = forge(tmp_path / "m.zip", metadata, {**arrays, "optimizer.1.step": arrays["optimizer.1.step"] + 3})
    evaluate(path, tmp_path, ("m.zip: The checkpoint's optimizer step counts differ between parameters", "corrupt"))


def test_metadata_describing_huge_networks_is_refused_before_allocating(tmp_path, checkpoint_parts):
    metadata, arrays = checkpoint_parts
    forged = {**metadata, "config": {**metadata["config"], "net_arch": [65_536, 65_536, 65_536]}}  # 8.6e9
    started = time.perf_counter()
    evaluate(forge(tmp_path / "m.zip", forged, arrays), tmp_path,
             ("describes networks of", "parameters but its arrays hold", "corrupt or forged"))
    assert time.perf_counter() - started < 10  # built on the meta device: nothing allocated


@pytest.mark.parametrize("field, value, says", [
    ("num_timesteps", "lots", "'num_timesteps' must be a whole number >= 0, got 'lots'"),
    ("num_timesteps", -5, "'num_timesteps' must be a whole number >= 0"),
    ("seed", "abc", "'seed' must be empty or a whole number"),
    ("seed", 2**80, "'seed' must be empty or a whole number"),
    ("env_kwargs", "x", "'env_kwargs' must be a mapping"),
    ("env_kwargs", {"sutton_barto_reward": "yes"}, "CartPole-v1's argument 'sutton_barto_reward' takes a bool"),
    ("env_kwargs", {"os": 1}, "CartPole-v1 takes no argument 'os'"),
    ("env_id", 5, "'env_id' must be an env id (text), got 5"),
    ("env_wrappers", "clip_action", "'env_wrappers' must be a list"),
    ("env_wrappers", ["os.system"], "unknown env wrapper 'os.system'"),
    ("algo", "nope", "'algo' is 'nope', not an algorithm"),
    ("algo", ["dqn"], "'algo' is ['dqn'], not an algorithm"),
    ("config", None, "'config' is missing or not a mapping"),
    ("format_version", "1", "uses checkpoint format version '1'"),
    ("observation_space", {"type": "Box", "shape": [1_000_000_000], "dtype": "float32", "low": 0, "high": 1},
     "Box shape must be a whole number in [0, 16777216], got 1000000000"),
    ("observation_space", {"type": "Box", "shape": [65536, 65536], "dtype": "float32", "low": 0, "high": 1},
     "has more than 16777216 values"),
    ("observation_space", {"type": "Box", "shape": [4], "dtype": "object", "low": 0, "high": 1},
     "Box dtype must be a number type"),
    ("observation_space", {"type": "Box", "shape": [4], "dtype": "float32", "low": [0, 1], "high": 1},
     "Box low has shape (2,), the space (4,)"),
    ("action_space", {"type": "Discrete", "n": -1}, "Discrete n must be a whole number"),
    ("action_space", {"type": "Tuple"}, "unknown space type 'Tuple'"),
    ("action_space", "Discrete(2)", "a space must be a mapping"),
])
def test_metadata_of_the_wrong_type_or_range_is_one_clear_error(tmp_path, checkpoint_parts, field, value, says):
    metadata, arrays = checkpoint_parts
    evaluate(forge(tmp_path / "m.zip", {**metadata, field: value}, arrays), tmp_path, says)


def test_a_typod_config_in_a_checkpoint_names_the_file(tmp_path, checkpoint_parts):
    metadata, arrays = checkpoint_parts
    forged = {**metadata, "config": {**metadata["config"], "learning_rate": float("nan")}}
    evaluate(forge(tmp_path / "m.zip", forged, arrays), tmp_path,
             ("m.zip (config)", "'learning_rate' must be a finite"))


def test_a_checkpoint_never_makes_zoo_import_a_module(tmp_path, checkpoint_parts):
    metadata, arrays = checkpoint_parts
    (tmp_path / "planted.py").write_text("raise SystemExit('planted module imported')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        path = forge(tmp_path / "m.zip", {**metadata, "env_id": "planted:CartPole-v1"}, arrays)
        evaluate(path, tmp_path, ("names the module 'planted'", "never imports code named by a file"))
        assert "planted" not in sys.modules
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_only_regular_files_are_read(tmp_path, kind):
    path = tmp_path / "model.zip"
    if kind == "fifo":
        os.mkfifo(path)  # opening it would block until a writer came
    elif kind == "device":
        path.symlink_to("/dev/zero")  # would never end
    else:
        path.mkdir()
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("reading hung"))
    signal.alarm(20)
    try:
        evaluate(path, tmp_path, "is not a regular file" if kind != "folder" else "is a folder, not a checkpoint")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@given(data=st.data())
@FUZZ
def test_fuzzed_checkpoints_load_or_are_refused_never_crash(tmp_path_factory, checkpoint_parts, data):
    """Random mutations of a real checkpoint (bytes of the file, fields of the metadata): a
    clear ZooError or a working agent, never another exception."""
    metadata, arrays = checkpoint_parts
    folder = tmp_path_factory.mktemp("fuzz")
    path = forge(folder / "model.zip", metadata, arrays)
    if data.draw(st.booleans(), label="mutate bytes"):
        raw = bytearray(path.read_bytes())
        for _ in range(data.draw(st.integers(1, 8), label="flips")):
            raw[data.draw(st.integers(0, len(raw) - 1), label="at")] = data.draw(st.integers(0, 255), label="to")
        if data.draw(st.booleans(), label="truncate"):
            raw = raw[: data.draw(st.integers(0, len(raw)), label="length")]
        path.write_bytes(bytes(raw))
    else:
        scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8)
        json_values = st.recursive(
            scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                  max_size=3),
            max_leaves=6)
        where = data.draw(st.sampled_from(["top", "config", "observation_space", "action_space"]), label="where")
        target = metadata if where == "top" else metadata[where]
        key = data.draw(st.sampled_from(sorted(target)), label="key")
        value = data.draw(json_values, label="value")
        mutated = {**target, key: value}
        forged = mutated if where == "top" else {**metadata, where: mutated}
        try:
            json.dumps(forged, allow_nan=True)
        except ValueError:
            return
        forge(path, forged, arrays)
    try:
        agent = load_agent(path)
    except ZooError as error:
        assert "\n" not in str(error) and len(str(error)) < 600
    else:
        action = agent.take_action(np.zeros(4, dtype=np.float32), deterministic=True)
        assert int(action) in (0, 1)


# ---- hyperparameters and YAML --------------------------------------------------------------

def test_a_yaml_alias_bomb_is_refused_with_a_short_message(tmp_path):
    levels = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 9):
        levels.append(f"l{i}: &l{i} [" + ", ".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 9) + "]")
    text = "\n".join(levels) + "\ndefault: {net_arch: *l8}\n"
    assert len(text) < 600  # 9**9 values once expanded
    (tmp_path / "bomb.yml").write_text(text)
    refused("train", "dqn", "CartPole-v1", "--hyperparams", "bomb.yml", cwd=tmp_path,
            says="expand to more than 100,000 values")
    refused("train", "dqn", "CartPole-v1", "--hp", "net_arch=[&x [1, 1], [*x, *x]]", cwd=tmp_path,
            says="net_arch")


def test_anchors_and_merges_as_rl_zoo_writes_them_keep_working(tmp_path):
    (tmp_path / "dqn.yml").write_text(textwrap.dedent("""\
        default: &common
          learning_rate: 0.001
          batch_size: 32
        CartPole-v1:
          <<: *common
          batch_size: 16
          n_timesteps: 300
          learning_starts: 100
          eval_freq: 0
          stop_at_return: null
        """))
    result = invoke("train", "dqn", "CartPole-v1", "--hyperparams", "dqn.yml", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((tmp_path / "runs" / "dqn" / "CartPole-v1_1" / "config.yml").read_text())
    assert saved["hyperparams"]["batch_size"] == 16 and saved["hyperparams"]["learning_rate"] == 0.001


def test_a_key_given_twice_is_refused(tmp_path):
    (tmp_path / "dqn.yml").write_text("CartPole-v1:\n  learning_rate: 0.001\n  learning_rate: 0.1\n")
    refused("train", "dqn", "CartPole-v1", "--hyperparams", "dqn.yml", cwd=tmp_path,
            says=("dqn.yml is not valid YAML", "the key 'learning_rate' is given twice (first on line 2)"))


def test_a_hyperparameter_folder_without_the_algos_file_is_refused(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "sac.yml").write_text("default: {}\n")
    refused("train", "dqn", "CartPole-v1", "--hyperparams", "mine", cwd=tmp_path, says="that folder has no dqn.yml")


@pytest.mark.parametrize("override, says", [
    ("learning_rate=.nan", "'learning_rate' must be a finite number, got nan"),
    ("learning_rate=1e999", "'learning_rate' must be a finite number, got inf"),
    ("learning_rate=-0.1", "'learning_rate' must be in (0, 1]"),
    ("gamma=.inf", "'gamma' must be a finite number"),
    ("net_arch=[0]", "net_arch widths must be whole numbers from 1 to 65536, got [0]"),
    ("net_arch=[-4]", "net_arch widths must be whole numbers from 1 to 65536, got [-4]"),
    ("net_arch=[60000, 60000, 60000]", "more than the 268,435,456 zoo builds"),
    ("max_grad_norm=-1", "'max_grad_norm' must be in [0, inf]"),
    ("exploration_final_eps=1.5", "'exploration_final_eps' must be in [0, 1]"),
    ("tau=0", "'tau' must be in (0, 1]"),
    ("n_timesteps=100000000000000000000", "'n_timesteps' is out of range"),
    ("buffer_size=100000000000", "replay buffer, more than the 16 GiB limit"),
    ("batch_size=" + "9" * 5000, "holds a value out of range"),
    ("learning_rat=0.1", "unknown hyperparameter 'learning_rat'. Did you mean: learning_rate?"),
])
def test_nonsense_hyperparameters_are_refused(tmp_path, override, says):
    steps = ["--steps", "200000000000"] if override.startswith("buffer_size") else []
    refused("train", "dqn", "CartPole-v1", "--hp", override, *steps, cwd=tmp_path, says=says)


@pytest.mark.parametrize("options, says", [
    ("{width: -1}", "option 'width' must be a number in (0, 16]"),
    ("{width: .nan}", "'backbone_options' must be a finite number"),
    ("{width: 1000}", "option 'width' must be a number in (0, 16]"),
])
def test_nonsense_backbone_options_are_refused(tmp_path, options, says):
    refused("train", "vision_dqn", "CliffWalking4x12-v0", "--hp", f"backbone_options={options}", cwd=tmp_path,
            says=says)


def test_a_new_backbone_drops_the_entrys_options_it_does_not_take():
    """The shipped MinAtar entry sets LeNet's `activation`, which AlexNet does not take (the
    resolution `zoo train` does; building an AlexNet is the backbone tests' job)."""
    from zoo.config import resolve_hyperparams
    from zoo.registry import get_algo

    spec = get_algo("vision_dqn")
    entry = resolve_hyperparams(spec, "MinAtar/Breakout-v1").config.backbone_options
    assert "activation" in entry
    resolved = resolve_hyperparams(spec, "MinAtar/Breakout-v1", {"backbone": "alexnet"})
    assert resolved.config.backbone == "alexnet"
    assert resolved.config.backbone_options == {k: v for k, v in entry.items() if k != "activation"}
    assert "note: alexnet takes no activation: dropped from backbone_options" in resolved.sources
    typed = resolve_hyperparams(spec, "MinAtar/Breakout-v1", {"backbone": "alexnet", "backbone_options": {}})
    assert typed.config.backbone_options == {}
    with pytest.raises(ZooError, match="backbone 'alexnet' has no option 'activation'"):
        resolve_hyperparams(spec, "MinAtar/Breakout-v1",
                            {"backbone": "alexnet", "backbone_options": {"activation": "relu"}})


@pytest.mark.parametrize("env_kwargs, says", [
    ("{probs: [0.5, .nan]}", "probs must be a list of 1 to 1000000 probabilities in [0, 1]"),
    ("{probs: [0.5, 2]}", "probs must be a list"),
    ("{n_arms: 0}", "n_arms must be a whole number from 1 to 1000000"),
    ("{n_arms: 1000000000000}", "n_arms must be a whole number"),
    ("{n_arms: 2.5}", "n_arms must be a whole number"),
    ("{max_steps: -3}", "max_steps must be a whole number"),
])
def test_nonsense_env_arguments_are_refused(tmp_path, env_kwargs, says):
    (tmp_path / "ucb.yml").write_text(f"default:\n  env_kwargs: {env_kwargs}\n")
    refused("train", "ucb", "BernoulliBandit-v0", "--hyperparams", "ucb.yml", cwd=tmp_path, says=says)


@pytest.mark.parametrize("flags, says", [
    # an argument the env's constructor takes, by name and by the kind of its default: gym.make
    # took each silently, and Pendulum failed in its first step with a TypeError traceback
    (["--env-kwargs", "gg:9.8"], "--env-kwargs: Pendulum-v1 takes no argument 'gg'. Did you mean: g?"),
    (["--env-kwargs", "g:abc"], "--env-kwargs: Pendulum-v1's argument 'g' takes a number (its default is 10.0), "
                                "got 'abc'"),
    (["--hp", "env_kwargs={g: true}"], "--hp: Pendulum-v1's argument 'g' takes a number"),
    (["--hyperparams", "pendulum.yml"],
     "pendulum.yml [Pendulum-v1]: Pendulum-v1's render_mode must be one of its render modes (human, rgb_array)"),
])
def test_env_arguments_the_env_does_not_take_are_refused_naming_their_source(tmp_path, flags, says):
    (tmp_path / "pendulum.yml").write_text("Pendulum-v1:\n  env_kwargs: {render_mode: 3}\n")
    refused("train", "sac", "Pendulum-v1", "-n", "300", *flags, cwd=tmp_path, says=says)


def test_an_env_constructor_refusing_its_arguments_is_one_line(tmp_path):
    # FrozenLake looks its map up by name: a KeyError from inside its constructor
    refused("train", "dqn", "FrozenLake-v1", "--env-kwargs", "map_name:9x9", cwd=tmp_path,
            says="Cannot create 'FrozenLake-v1' with {'map_name': '9x9'}: KeyError '9x9'")
    refused("train", "ppo", "FrozenLake-v1", "--env-kwargs", "map_name:9x9", cwd=tmp_path,
            says="Cannot create 'FrozenLake-v1' with {'map_name': '9x9'}: KeyError '9x9'")


def test_env_arguments_of_the_kind_the_env_takes_are_let_through():
    from zoo.environments import check_env_arguments

    check_env_arguments("LunarLander-v3", {"continuous": 1, "gravity": -9, "enable_wind": True,
                                           "max_episode_steps": 50, "render_mode": None}, "test")
    check_env_arguments("MountainCarContinuous-v0", {"goal_velocity": 0.1}, "test")  # an int default, a float
    check_env_arguments("FrozenLake-v1", {"desc": ["SF", "FG"]}, "test")  # a None default: the env's to check
    check_env_arguments("FrozenLake-v1", {"map_name": 8}, "test")  # a text default is not judged ("auto" or 3)
    check_env_arguments("No-Such-Env-v0", {"x": 1}, "test")  # gym.make names an unknown id
    with pytest.raises(ZooError, match="test: LunarLander-v3's argument 'continuous' takes a bool"):
        check_env_arguments("LunarLander-v3", {"continuous": "no"}, "test")


def test_a_cliff_with_a_nonsense_cell_size_is_refused(tmp_path):
    (tmp_path / "value_iteration.yml").write_text("default:\n  env_kwargs: {cell_size: 100000}\n")
    refused("train", "value_iteration", "CliffWalking4x12-v0", "--hyperparams", "value_iteration.yml", cwd=tmp_path,
            says="cell_size must be a whole number of pixels from 1 to 256")


@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3),
                          max_leaves=8),
       key=st.sampled_from(["learning_rate", "net_arch", "gamma", "batch_size", "loss", "double", "stop_at_return",
                            "exploration_fraction", "max_grad_norm", "buffer_size", "nope"]))
@FUZZ
def test_fuzzed_hyperparameters_coerce_or_are_refused_never_crash(value, key):
    from zoo.registry import get_algo

    try:
        config = build_config(get_algo("dqn").load_config_class(), {key: value}, source="--hp")
    except ZooError as error:
        assert "\n" not in str(error) and len(str(error)) < 600
    else:
        accepted = getattr(config, key)
        for number in accepted if isinstance(accepted, list) else [accepted]:
            assert not isinstance(number, float) or np.isfinite(number)


@given(text=st.text(max_size=40))
@FUZZ
def test_fuzzed_hp_text_parses_or_is_refused(text):
    from zoo.config import parse_overrides

    try:
        parse_overrides([f"learning_rate={text}"])
    except ZooError as error:
        assert "\n" not in str(error)


# ---- command-line mistakes ------------------------------------------------------------------

def test_modules_that_fail_on_import_are_one_clear_error(tmp_path, monkeypatch):
    (tmp_path / "badmod.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    refused("train", "dqn", "badmod:CartPole-v1", cwd=tmp_path, says="importing 'badmod' failed (RuntimeError: boom")
    refused("list", "--env-package", "badmod", cwd=tmp_path, says="--env-package badmod: importing 'badmod' failed")
    refused("train", "dqn", ":CartPole-v1", cwd=tmp_path, says="'' is not a module name")
    refused("list", "--env-package", "", cwd=tmp_path, says="is not a module name")


@pytest.mark.parametrize("seed", ["-2", str(2**32), str(2**64)])
def test_seeds_outside_the_generators_range_are_refused(tmp_path, seed):
    refused("train", "ucb", "BernoulliBandit-v0", "--seed", seed, cwd=tmp_path, says="--seed must be a whole number")
    refused("evaluate", "ucb", "BernoulliBandit-v0", "--seed", seed, cwd=tmp_path, says="--seed must be a whole")
    # train's -1 is RL Zoo's random seed (test_cli); evaluate's -1 is no seed
    refused("evaluate", "ucb", "BernoulliBandit-v0", "--seed", "-1", cwd=tmp_path, says="--seed must be a whole")


def test_out_where_no_folder_can_be_made_is_refused(tmp_path):
    (tmp_path / "a_file").write_text("")
    refused("train", "ucb", "BernoulliBandit-v0", "--out", "a_file", cwd=tmp_path,
            says="--out a_file: cannot make a run folder in it")
    refused("train", "ucb", "BernoulliBandit-v0", "--out", "a_file/below", cwd=tmp_path,
            says="--out a_file/below: cannot make a run folder in it")


def test_video_and_upload_paths_that_cannot_be_written_are_refused(tmp_path):
    (tmp_path / "a_file").write_text("")
    (tmp_path / "a_folder.gif").mkdir()
    refused("enjoy", "value_iteration", "CliffWalking4x12-v0", "--video", "a_file/v.gif", "--episodes", 1,
            cwd=tmp_path, says="Cannot write a_file/v.gif")
    refused("enjoy", "value_iteration", "CliffWalking4x12-v0", "--video", "a_folder.gif", "--episodes", 1,
            cwd=tmp_path, says="Cannot write a_folder.gif")
    refused("upload", "value_iteration", "CliffWalking4x12-v0", "--repo-id", "me/agent", "--out", "a_file",
            "--no-video", "--episodes", 1, cwd=tmp_path, says="--out a_file is a file")
    refused("upload", "value_iteration", "CliffWalking4x12-v0", "--repo-id", "me/agent", "--out", "a_file/below",
            "--no-video", "--episodes", 1, cwd=tmp_path, says="--out a_file/below: cannot make that folder")


def test_steps_and_resume_mistakes_name_the_flag(tmp_path):
    refused("train", "dqn", "CartPole-v1", "--steps", 0, cwd=tmp_path, says="--steps must be at least 1, got 0")
    refused("train", "dqn", "CartPole-v1", "--resume", "/nonexistent", "--steps", 100, cwd=tmp_path,
            says="--resume /nonexistent: there is no run folder or checkpoint there")
    # the flags that set one hyperparameter are named as typed, not as --hp
    refused("train", "dqn", "CartPole-v1", "--steps", 10**23, cwd=tmp_path, says="--steps is out of range")
    refused("train", "ppo", "CartPole-v1", "--n-envs", 0, cwd=tmp_path, says="--n-envs: n_envs must be >= 1")
    refused("train", "dqn", "CartPole-v1", "--save-freq", 10**23, cwd=tmp_path,
            says="--save-freq: hyperparameter 'save_freq' is out of range")


def test_flags_on_a_resume_are_named_too(tmp_path, short_dqn_run):
    refused("train", "dqn", "CartPole-v1", "--resume", short_dqn_run, "--steps", 900, "--save-freq", 10**23,
            cwd=tmp_path, says="--save-freq: hyperparameter 'save_freq' is out of range")
    refused("train", "dqn", "CartPole-v1", "--resume", short_dqn_run, "--steps", 900, "--hp", "gamma=2", cwd=tmp_path,
            says="--hp: gamma must be in [0, 1]")


@pytest.fixture(scope="module")
def short_dqn_run(tmp_path_factory):
    """A finished short DQN run that kept its replay buffer and made a best_model.zip."""
    folder = tmp_path_factory.mktemp("dqn_run")
    result = invoke("train", "dqn", "CartPole-v1", "--steps", 600, "--hp", "learning_starts=100",
                    "--hp", "eval_freq=200", "--hp", "n_eval_episodes=1", "--hp", "save_replay_buffer=true",
                    "--hp", "stop_at_return=null", cwd=folder)
    assert result.exit_code == 0, result.output
    return folder / "runs" / "dqn" / "CartPole-v1_1"


def test_a_refused_resume_leaves_no_run_folder(tmp_path, short_dqn_run):
    import shutil

    run = tmp_path / "old"
    shutil.copytree(short_dqn_run, run)
    arrays = zoo.files.read_arrays(run / "replay_buffer.npz")
    arrays["rewards"] = arrays["rewards"][:-7]  # lengths disagree: resuming would train on zeros
    zoo.files.write_arrays(run / "replay_buffer.npz", arrays)
    refused("train", "dqn", "CartPole-v1", "--resume", "old", "--steps", 900, cwd=tmp_path,
            says="replay buffer's arrays disagree in length")
    refused("train", "dqn", "Acrobot-v1", "--resume", "old", "--steps", 900, cwd=tmp_path,
            says="was trained on 'CartPole-v1', not 'Acrobot-v1'")
    refused("train", "sac", "CartPole-v1", "--resume", "old", "--steps", 900, cwd=tmp_path,
            says="holds a 'dqn' agent, not 'sac'")


def test_best_model_records_its_step_and_resumes_from_it(short_dqn_run):
    best = read_checkpoint(short_dqn_run / "best_model.zip")[0]
    evaluations = (short_dqn_run / "evaluations.csv").read_text().splitlines()[1:]
    assert best["num_timesteps"] in {int(row.split(",")[0]) for row in evaluations}
    assert best["num_timesteps"] >= 200


def test_saved_files_follow_the_umask(short_dqn_run):
    mask = os.umask(0)
    os.umask(mask)
    for name in ("model.zip", "best_model.zip", "replay_buffer.npz", "config.yml", "progress.csv"):
        assert (short_dqn_run / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


@pytest.mark.parametrize("config, progress, says", [
    ("env_id: CartPole-v1\n", "step,return\n1,2\n", "'algo' is None, not an algorithm"),
    ("- a list\n", "step,return\n1,2\n", "is not a run's config"),
    ("algo: dqn\nenv_id: CartPole-v1\n", "step,return\n1,lots\n", "the 'return' column holds something"),
    ("algo: dqn\nenv_id: CartPole-v1\n", "step,episode\n1,2\n", "has no 'return' column"),
    ("algo: dqn\nenv_id: this:CartPole-v1\n", "step,return\n1,nan\n", "the 'return' column holds NaN"),
    ("algo: dqn\nalgo: sac\n", "step,return\n1,2\n", "the key 'algo' is given twice"),
])
def test_plot_refuses_malformed_run_folders(tmp_path, config, progress, says):
    pytest.importorskip("matplotlib")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yml").write_text(config)
    (run / "progress.csv").write_text(progress)
    refused("plot", "run", "--out", "curves.png", cwd=tmp_path, says=says)
    assert "this" not in sys.modules  # the env id of a run folder is a label, never imported


def test_plot_refuses_an_existing_folder_as_out(tmp_path, short_dqn_run):
    pytest.importorskip("matplotlib")
    (tmp_path / "curves.png").mkdir()
    refused("plot", short_dqn_run, "--out", "curves.png", cwd=tmp_path, says="--out curves.png is a folder")


# ---- faults: signals, kills, a full disk, divergence --------------------------------------

def _start_training(tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "zoo", "train", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_rows(path: Path, rows: int, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and len(path.read_text().splitlines()) > rows:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    pytest.fail(f"{path} never got {rows} rows")


def test_ctrl_c_to_the_process_group_with_async_workers_saves_and_exits_130(tmp_path):
    """A terminal's Ctrl-C reaches every process of the group: the env workers must ignore it."""
    process = _start_training(tmp_path, "actor_critic", "CartPole-v1", "--n-envs", "2", "--hp", "vectorization=async",
                              "--steps", "100000000")
    run = tmp_path / "runs" / "actor_critic" / "CartPole-v1_1"
    _wait_for_rows(run / "progress.csv", 3, process)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "Interrupted by SIGINT: saved what was learned" in err
    assert load_agent(run).num_timesteps > 0


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_upload_stopped_while_packaging_leaves_no_folder_and_says_so_in_one_line(tmp_path, stop):
    process = subprocess.Popen([sys.executable, "-m", "zoo", "upload", "dqn", "CartPole-v1", "-orga", "me",
                                "--episodes", "1000", "--no-video", "--out", "pkg"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 90
    while not (tmp_path / "pkg").exists():  # made once its handlers are in place, before the evaluation
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(stop)
    out, err = process.communicate(timeout=60)
    code = {signal.SIGINT: 130, signal.SIGTERM: 143}[stop]
    assert process.returncode == code, err
    assert err.strip() == f"Interrupted by {stop.name}: nothing left in pkg; exit code {code}."
    assert not (tmp_path / "pkg").exists()


def test_sigterm_saves_flushes_the_logs_and_exits_143(tmp_path):
    process = _start_training(tmp_path, "dqn", "CartPole-v1", "--steps", "100000000", "--hp", "eval_freq=500",
                              "--hp", "n_eval_episodes=1", "--hp", "stop_at_return=null")
    run = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
    _wait_for_rows(run / "evaluations.csv", 1, process)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "Interrupted by SIGTERM" in err and "Traceback" not in err
    agent = load_agent(run)
    progress = (run / "progress.csv").read_text().splitlines()
    assert len(progress) > 1 and agent.num_timesteps >= int(progress[-1].split(",")[0])
    assert len((run / "evaluations.csv").read_text().splitlines()) > 1


@pytest.mark.slow  # ~5 s: a subprocess; runs in .ci/run's slow pass
def test_sigterm_in_the_middle_of_a_long_whole_episode_rollout_stops_at_once(tmp_path):
    """REINFORCE collects one whole episode per update: under a time limit of a million steps
    SIGTERM waited for the episode's end (minutes), and `timeout` left a run that went on. Now
    the rollout stops at the next step, is not learned from, and the run saves as any stop."""
    process = _start_training(tmp_path, "reinforce", "Pendulum-v1", "--steps", "100000000", "--env-kwargs",
                              "max_episode_steps:1000000", "--hp", "eval_freq=0", "--hp", "stop_at_return=null")
    run = tmp_path / "runs" / "reinforce" / "Pendulum-v1_1"
    deadline = time.time() + 90
    while not (run / "config.yml").exists():
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.05)
    time.sleep(2.0)  # into the first episode
    process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:  # the failure this tests: never leave it running
            process.kill()
            process.communicate()
    assert process.returncode == 143 and "Interrupted by SIGTERM" in err and "Traceback" not in err, err
    agent = load_agent(run)
    assert 0 < agent.num_timesteps < 1_000_000 and agent.n_updates == 0  # nothing learned from a cut episode


def test_sigkill_loses_only_the_steps_since_the_last_periodic_checkpoint(tmp_path):
    """No handler runs on SIGKILL (or the OOM killer, or a power cut): the run's periodic
    checkpoints (save_freq) and their replay buffer are what `--resume RUN_DIR` goes on from."""
    process = _start_training(tmp_path, "dqn", "CartPole-v1", "--steps", "100000000", "--save-freq", "2000",
                              "--hp", "eval_freq=0", "--hp", "stop_at_return=null", "--hp", "save_replay_buffer=true")
    run = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
    deadline = time.time() + 90
    while not (run / "checkpoints" / "model_4000_steps.zip").exists():  # its buffer is written before it
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.05)
    process.kill()
    process.communicate(timeout=30)
    assert not (run / "model.zip").exists()
    kept = sorted(int(path.name.split("_")[1]) for path in (run / "checkpoints").glob("model_*_steps.zip"))
    assert kept[:2] == [2000, 4000] and all(step % 2000 == 0 for step in kept)
    result = CliRunner().invoke(app, ["train", "dqn", "CartPole-v1", "--resume", str(run), "--steps",
                                      str(kept[-1] + 1000), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    # wherever the kill landed, the latest model has its buffer (written before it)
    assert f"resumed at step {kept[-1]} from" in result.output and "with its replay buffer" in result.output


def test_a_relayed_sigterm_landing_during_the_final_save_keeps_the_model_and_the_ctrl_c(tmp_path):
    # CI (2026-11-26): `zoo benchmark --time-to-solve` got the terminal's Ctrl-C with its `zoo train`
    # child and relayed SIGTERM, which reached the child while it saved, after its stop handlers
    # were gone: the child died and its model.zip was never written. Here both land in order.
    script = textwrap.dedent(f"""
        import signal
        from zoo.agents.dqn import DQNAgent
        from zoo.callbacks import Callback
        from zoo.train import train

        class CtrlCAtStep(Callback):
            def on_step(self, step):
                if step == 300:
                    signal.raise_signal(signal.SIGINT)
                return False

        real_save = DQNAgent.save
        def save_as_the_relay_lands(self, path):
            signal.raise_signal(signal.SIGTERM)
            return real_save(self, path)

        DQNAgent.save = save_as_the_relay_lands
        result = train("dqn", "CartPole-v1", out_dir={str(tmp_path)!r}, callbacks=[CtrlCAtStep()],
                       overrides={{"learning_starts": 100, "net_arch": [16]}})
        print(result.stopped_by, result.interrupted, result.agent.num_timesteps)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["SIGINT", "True", "300"]  # the stop is the Ctrl-C's, at its step
    assert load_agent(tmp_path / "dqn" / "CartPole-v1_1").num_timesteps == 300


def _start_saver(target: Path) -> subprocess.Popen:
    """A process that saves a bandit agent to `target` over and over, as fast as it can."""
    saver = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import gymnasium as gym
        from zoo.agents.ucb import UCBAgent, UCBConfig
        agent = UCBAgent(gym.spaces.Discrete(1), gym.spaces.Discrete(100_000), UCBConfig(), algo="ucb",
                         env_id="BernoulliBandit-v0", env_kwargs={{"n_arms": 100_000}}, seed=0)
        print("ready", flush=True)
        while True:
            agent.save({str(target)!r})
        """)], stdout=subprocess.PIPE, text=True)
    assert saver.stdout is not None and saver.stdout.readline().strip() == "ready"
    return saver


def test_sigkill_during_saves_never_leaves_a_broken_checkpoint_and_the_litter_is_cleaned(tmp_path):
    target = tmp_path / "model.zip"
    for _ in range(2):  # killed at a random point of a save, twice
        saver = _start_saver(target)
        time.sleep(0.3)
        saver.kill()
        saver.wait()
        assert load_agent(target).algo == "ucb"  # the last complete save, never half of one
    load_agent(target).save(target)  # the next save removes what killed writers left
    assert list(tmp_path.iterdir()) == [target]


def test_a_full_disk_is_one_clear_error_and_the_last_good_checkpoint_is_kept(tmp_path, monkeypatch):
    saves = {"n": 0}
    real_fsync = os.fsync

    def fsync_until_full(descriptor):
        if os.readlink(f"/proc/self/fd/{descriptor}").endswith(".zip"):  # a checkpoint's temporary file
            saves["n"] += 1
            if saves["n"] > 1:  # the first save fits, then the disk is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync_until_full)
    result = invoke("train", "dqn", "CartPole-v1", "--steps", 1000, "--hp", "eval_freq=100", "--hp",
                    "n_eval_episodes=1", "--hp", "stop_at_return=null", "--hp", "learning_starts=50", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no space left on the device" in lines[0], result.stderr
    run = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
    assert load_agent(run / "best_model.zip").num_timesteps == 100  # the last good save, kept
    assert not list(run.glob(".*"))  # no temporary file left


@pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy's float warnings fail the run, not just print
def test_an_update_overflowing_in_numpy_ends_in_one_line_without_numpy_warnings(tmp_path, monkeypatch):
    import torch

    from zoo.agents.dqn import DQNAgent

    real_update = DQNAgent.update

    def exploding_update(self, batch):
        assert self.numpy_q_network is not None  # the numpy path, whose overflows numpy warns about
        with torch.no_grad():
            for parameter in self.q_parameters:
                parameter.fill_(1e30)  # finite weights whose products overflow float32
        return real_update(self, batch)

    monkeypatch.setattr(DQNAgent, "update", exploding_update)
    result = invoke("train", "dqn", "CartPole-v1", "--steps", 500, "--hp", "eval_freq=0", "--hp",
                    "stop_at_return=null", "--hp", "learning_starts=100", "--hp", "train_freq=1", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert "Training diverged at step 101: the update's loss is" in result.stderr, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    assert "Traceback" not in result.output, result.output


def test_a_diverging_run_stops_and_never_overwrites_the_last_finite_checkpoint(tmp_path, monkeypatch):
    from zoo.agents.dqn import DQNAgent

    real_update = DQNAgent.update
    updates = {"n": 0}

    def diverging_update(self, batch):
        metrics = real_update(self, batch)
        updates["n"] += 1
        if updates["n"] > 300:  # as an exploding learning rate would: weights, then the loss, go NaN
            for parameter in self.q_network.parameters():
                parameter.data.fill_(float("nan"))
            return {**metrics, "loss": float("nan")}
        return metrics

    monkeypatch.setattr(DQNAgent, "update", diverging_update)
    result = invoke("train", "dqn", "CartPole-v1", "--steps", 5000, "--hp", "eval_freq=200", "--hp",
                    "n_eval_episodes=1", "--hp", "stop_at_return=null", "--hp", "learning_starts=100",
                    "--hp", "train_freq=1", "--hp", "gradient_steps=1", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert "Training diverged at step 401: the update's loss is nan" in result.stderr, result.stderr
    run = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
    assert not (run / "model.zip").exists()
    best = load_agent(run / "best_model.zip")  # finite, or it would not load
    assert 0 < best.num_timesteps <= 400


def test_a_child_stopped_by_ctrl_c_or_sigterm_is_told_from_one_that_failed():
    from zoo.interrupt import EXIT_CODES, signal_name_of_exit

    # exit codes after a clean save (128 + the number), and a child killed outright (minus it)
    assert EXIT_CODES == {"SIGINT": 130, "SIGTERM": 143}
    assert [signal_name_of_exit(code) for code in (130, -2, 143, -15)] == ["SIGINT", "SIGINT", "SIGTERM", "SIGTERM"]
    assert [signal_name_of_exit(code) for code in (0, 1, 2, -9, None)] == [None] * 5


# ---- custom envs that break their own contract (tests/broken_envs.py) ----------------------


@pytest.mark.parametrize("algo", ["dqn", "ppo", "sac"])
def test_an_env_whose_observations_do_not_fit_its_space_is_named(tmp_path, algo):
    # was a ValueError traceback from the replay buffer or Gymnasium's vector env
    refused("train", algo, "test/ObservationsOfAnotherShape-v0", "-n", 300, cwd=tmp_path,
            says="test/ObservationsOfAnotherShape-v0's reset returned an observation of shape (4,), but its "
                 "observation_space is Box(-1.0, 1.0, (3,), float32)")


@pytest.mark.parametrize("algo", ["dqn", "ppo"])
def test_an_env_of_the_old_gym_api_is_named(tmp_path, algo):
    refused("train", algo, "test/OldGymApi-v0", "-n", 300, cwd=tmp_path,
            says="test/OldGymApi-v0's reset returned ndarray, not (observation, info): it follows the old Gym API")
    result = invoke("train", algo, "test/OldGymStep-v0", "-n", 300, cwd=tmp_path)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "error: The env's step failed: not enough values to unpack (expected 5, got 4)" in \
        " ".join(result.stderr.split()) and "Traceback" not in result.output, result.stderr


@pytest.mark.parametrize("algo, says", [
    # the off-policy loop's buffer raised a ValueError traceback; looked at when storing failed
    ("dqn", "error: The env's step returned an observation of shape (4,), but its observation_space is Box(-1.0, "
            "1.0, (3,), float32)"),
    ("sac", "error: The env's step returned an observation of shape (4,)"),
    # Gymnasium's vector env raised it from deep inside: its words, one line
    ("ppo", "error: The env's step failed: Output array is the wrong shape (its observation_space is Box(-1.0, 1.0, "
            "(3,), float32))."),
])
def test_an_env_whose_steps_do_not_fit_its_space_is_named(tmp_path, algo, says):
    result = invoke("train", algo, "test/AnotherShapeAfterTheReset-v0", "-n", 300, cwd=tmp_path)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert says in " ".join(result.stderr.split()) and "Traceback" not in result.output, result.stderr


@pytest.mark.parametrize("algo, flags, says", [
    # DQN's update on NaN named the env as the cause; now its first action does (exploring ones check too)
    ("dqn", [], "The env returned an observation holding NaN or inf, which the policy cannot act on: check the env "
                "(and its arguments)."),
    # acting on NaN: torch's Categorical raised from deep inside (a traceback); PPO learned from it
    ("ppo", [], "The env returned an observation holding NaN or inf, which the policy cannot act on"),
    ("actor_critic", [], "The env returned an observation holding NaN or inf, which the policy cannot act on"),
    # an update on NaN: the env named as the cause, not the learning rate
    ("sac", [], "the update's loss is nan. Nothing was saved over the last good checkpoint (best_model.zip, if an "
                "evaluation made one). The env returned NaN or infinite rewards or observations, which the update "
                "learned from: check the env (and its arguments); no hyperparameter fixes that."),
    # discrete SAC's first own action falls mid-episode (episodes end every 20 steps): on NaN
    ("sac", ["--hp", "learning_starts=105"], "The env returned an observation holding NaN or inf"),
])
def test_an_env_returning_nan_is_named_as_the_cause(tmp_path, algo, flags, says):
    result = invoke("train", algo, "test/NaNAfterTheFirstStep-v0", "-n", 3000, *flags, cwd=tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert len(errors) == 1 and says in errors[0] and "Traceback" not in result.output, result.stderr


def test_playing_on_nan_observations_names_the_env_not_a_silent_action(tmp_path):
    # DQN's argmax over NaN scores picked action 0 and DDPG's actor sent NaN to the env, silently:
    # zoo evaluate and enjoy (one env), and training's evaluations (copies in lockstep), refuse
    from zoo.train import train

    untrained = {"n_timesteps": 50, "learning_starts": 1000, "eval_freq": 0}  # no update, no evaluation
    run = train("dqn", "test/NaNAfterTheFirstStep-v0", seed=0, out_dir=tmp_path, overrides=untrained).run_dir
    says = "error: The env returned an observation holding NaN or inf, which the policy cannot act on"
    for verb in ("evaluate", "enjoy"):
        result = invoke(verb, "dqn", "test/NaNAfterTheFirstStep-v0", "--path", run, "--episodes", 2, cwd=tmp_path)
        assert result.exit_code == 1 and says in result.output and "Traceback" not in result.output, result.output
    with pytest.raises(ZooError, match="The env returned an observation holding NaN or inf"):
        train("dqn", "test/NaNAfterTheFirstStep-v0", seed=0, out_dir=tmp_path,
              overrides={**untrained, "eval_freq": 25, "n_eval_episodes": 2})


@pytest.mark.parametrize("algo, env_id", [
    ("dqn", "CartPole-v1"), ("reinforce", "CartPole-v1"), ("actor_critic", "CartPole-v1"), ("ppo", "CartPole-v1"),
    ("ppo", "Pendulum-v1"), ("sac", "Pendulum-v1"), ("sac", "CartPole-v1"), ("ddpg", "Pendulum-v1"),
    ("td3", "Pendulum-v1"),
])
def test_an_agent_asked_to_act_on_nan_or_a_misshapen_observation_says_so(algo, env_id):
    # Library callers got action 0 (DQN's argmax over NaN), a NaN action (DDPG, SAC), an action
    # from inf clipped by PPO's normalization, or torch's Categorical traceback; and PPO, A2C and
    # REINFORCE fed a misshapen observation to the network (a matmul traceback)
    from helpers import new_agent

    normalized = {"normalize_observations": True} if algo == "ppo" else None  # inf was clipped to finite garbage
    agent, env, _ = new_agent(algo, env_id=env_id, overrides=normalized)
    observation, _ = env.reset(seed=0)
    acts = [lambda o: agent.take_action(o), lambda o: agent.take_action(o, deterministic=True),
            lambda o: agent.greedy_actions(o[None])]
    if hasattr(agent, "act_batch"):
        acts.append(lambda o: agent.act_batch(o[None]))
    for act in acts:
        act(observation)  # a good one is taken
        for bad in (np.nan, np.inf, -np.inf):
            broken = observation.copy()
            broken[1] = bad
            with pytest.raises(ZooError, match=f"^{algo} cannot act on (an observation|observations) holding NaN or "
                                                "inf.$"):
                act(broken)
        with pytest.raises(ZooError, match=f"^{algo}: observations? of shape \\({len(observation) + 1},\\)"):
            act(np.append(observation, 0.0))


@pytest.mark.parametrize("algo", ["vision_dqn", "dqn", "sac", "ppo"])
def test_an_agent_asked_to_act_on_what_is_not_its_observation_says_so(algo):
    # numpy's errors from deep inside (could not convert 'x', Python integer 999 out of bounds for
    # uint8), or garbage: a vision agent's frame of floats in [0, 1] cast to all-black uint8
    from helpers import new_agent

    agent, env, _ = new_agent(algo)
    observation, _ = env.reset(seed=0)
    agent.take_action(observation)
    if hasattr(agent, "exploration_rate"):
        agent.exploration_rate = 1.0  # DQN's exploring actions check too: refused every time, not by a coin flip
    for bad in ("x", [1, "a"], {"a": 1}):
        with pytest.raises(ZooError, match=f"^{algo}: the observation .* is not an array of numbers.$"):
            agent.take_action(bad)
    with pytest.raises(ZooError, match=f"^{algo}: the observations .* is not an array of numbers.$"):
        agent.greedy_actions([["x"]])
    if algo == "vision_dqn":  # uint8 frames: values that a cast would wrap or truncate
        for frame in (observation / 255.0, observation.astype(np.int64) + 300, np.full(observation.shape, np.nan)):
            with pytest.raises(ZooError, match="the observation holds values a uint8 array cannot \\(whole numbers "
                                               "from 0 to 255, as its frames are\\)"):
                agent.take_action(frame, deterministic=True)
        agent.take_action(observation.astype(np.int64), deterministic=True)  # whole numbers that fit: taken


def test_a_diverging_update_on_a_finite_env_still_names_the_learning_rate():
    from zoo.loops.monitor import TrainingDiverged, check_finite

    finite = np.zeros((5, 3))
    with pytest.raises(TrainingDiverged, match="Lower learning_rate or set max_grad_norm"):
        check_finite({"loss": float("inf")}, 7, lambda: (finite,))
    check_finite({"loss": 1.0}, 7, lambda: (np.full(3, np.nan),))  # a finite update: the env is not looked at
