"""`--device auto|cpu|cuda`: which device an agent gets, the errors, and (where there is a GPU)
that every torch agent trains there and its checkpoints cross between GPU and CPU."""

import numpy as np
import pytest
import torch
import yaml
from test_cli import zoo
from torch import nn

from helpers import trained_agent
from zoo.build import load_agent
from zoo.devices import resolve_device
from zoo.errors import ZooError
from zoo.registry import ALGOS
from zoo.train import train

TORCH_ALGOS = [name for name, spec in ALGOS.items() if spec.learns_from_experience]
HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA GPU on this machine")
needs_no_cuda = pytest.mark.skipif(HAS_CUDA, reason="this machine has a CUDA GPU")


def tensors_held_by(obj, path="agent", seen=None):
    """(where, tensor) for every tensor an agent holds: module parameters and buffers, optimizer
    state, loose tensors (SAC's log_alpha, action scaling), through zoo's own objects."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        yield path, obj
    elif isinstance(obj, nn.Module):
        for name, tensor in [*obj.named_parameters(), *obj.named_buffers()]:
            yield f"{path}.{name}", tensor
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from tensors_held_by(item, f"{path}[{i}]", seen)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from tensors_held_by(item, f"{path}[{key!r}]", seen)
    elif type(obj).__module__.startswith("zoo.") and hasattr(obj, "__dict__"):
        for name, item in vars(obj).items():
            yield from tensors_held_by(item, f"{path}.{name}", seen)


# -- choosing the device -------------------------------------------------------------------


def test_cpu_and_auto_without_a_gpu_give_the_cpu(monkeypatch):
    assert resolve_device("cpu", algo="dqn", uses_torch=True) == torch.device("cpu")
    assert resolve_device(" CPU ", algo="dqn", uses_torch=True) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto", algo="vision_dqn", uses_torch=True, prefers_gpu=True) == torch.device("cpu")


def test_auto_gives_a_gpu_to_cnn_agents_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto", algo="vision_dqn", uses_torch=True, prefers_gpu=True) == torch.device("cuda")
    # MLP agents stay on the CPU, where their small networks train faster
    assert resolve_device("auto", algo="sac", uses_torch=True) == torch.device("cpu")


def test_the_registered_agents_say_which_networks_want_a_gpu():
    for name in TORCH_ALGOS:
        agent_class = ALGOS[name].load_agent_class()
        assert agent_class.uses_torch, name
        assert agent_class.prefers_gpu == (name == "vision_dqn"), name
    for name in set(ALGOS) - set(TORCH_ALGOS):
        assert not ALGOS[name].load_agent_class().uses_torch, name


@needs_no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "auto"])
def test_numpy_agents_run_on_the_cpu_and_refuse_a_gpu(name):
    if name == "auto":
        assert resolve_device(name, algo="ucb", uses_torch=False) is None
        return
    with pytest.raises(ZooError, match="computes in numpy on the CPU"):
        resolve_device(name, algo="ucb", uses_torch=False)


@needs_no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_without_a_gpu_is_one_clear_error(name):
    with pytest.raises(ZooError, match=f"--device {name}: this PyTorch .* sees no CUDA GPU here. Use --device cpu"):
        resolve_device(name, algo="dqn", uses_torch=True)


def test_a_cuda_index_past_the_last_gpu_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0", algo="dqn", uses_torch=True) == torch.device("cuda:0")
    with pytest.raises(ZooError, match="there are 1 CUDA device"):
        resolve_device("cuda:1", algo="dqn", uses_torch=True)


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:x", "", "mps"])
def test_unknown_devices_name_the_choices(name):
    with pytest.raises(ZooError, match="choose auto, cpu, cuda or cuda:N"):
        resolve_device(name, algo="dqn", uses_torch=True)


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_train_records_its_device_and_mlp_agents_take_the_cpu_under_auto(tmp_path, device):
    result = zoo("train", "dqn", "CartPole-v1", "--steps", 300, "--hp", "eval_freq=0", "--hp", "stop_at_return=null",
                 "--device", device, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "runs" / "dqn" / "CartPole-v1_1" / "config.yml").read_text())
    assert config["device"] == "cpu"


def test_numpy_agents_record_the_cpu(tmp_path):
    assert zoo("train", "ucb", "BernoulliBandit-v0", "--steps", 20, cwd=tmp_path).exit_code == 0
    config = yaml.safe_load((tmp_path / "runs" / "ucb" / "BernoulliBandit-v0_1" / "config.yml").read_text())
    assert config["device"] == "cpu"


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "dqn", "CartPole-v1", "--device", "tpu"],
         "--device: unknown device 'tpu'; choose auto, cpu, cuda or cuda:N"),
        (["train", "dqn", "CartPole-v1", "--device", "mps"], "Apple's mps is not supported"),
        (["train", "ucb", "BernoulliBandit-v0", "--device", "cuda"], "ucb computes in numpy on the CPU"),
        (["evaluate", "dqn", "CartPole-v1", "--device", "gpu"], "unknown device 'gpu'"),
    ],
)
def test_bad_devices_are_one_clear_error(tmp_path, args, message):
    result = zoo(*args, cwd=tmp_path)
    assert result.exit_code == 1 and message in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "runs").exists()  # refused before a run directory was made


@needs_no_cuda
@pytest.mark.parametrize("command", ["train", "enjoy", "evaluate"])
def test_cuda_on_a_machine_without_one_is_one_clear_error(tmp_path, command):
    result = zoo(command, "dqn", "CartPole-v1", "--device", "cuda", cwd=tmp_path)
    assert result.exit_code == 1
    assert "--device cuda: this PyTorch" in result.stderr and "Use --device cpu" in result.stderr
    assert "Traceback" not in result.output + result.stderr


# -- agents on their device: the CPU here, a GPU too where CUDA is ----------------------------

DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("algo", TORCH_ALGOS)
def test_agents_learn_on_their_device_and_checkpoints_cross_devices(algo, device, tmp_path):
    agent, env = trained_agent(algo, device=device)
    assert agent.device.type == device
    tensors = dict(tensors_held_by(agent))
    assert any("optimizer" in where for where in tensors)  # the walk reaches optimizer state
    assert {where for where, tensor in tensors.items() if tensor.device.type != device} == set()
    on_cpu = load_agent(agent.save(tmp_path / "model.zip"), device="cpu")
    back_on_device = load_agent(tmp_path / "model.zip", device=device)
    for seed in range(5):
        observation, _ = env.reset(seed=seed)
        actions = [np.asarray(a.take_action(observation, deterministic=True), dtype=np.float64)
                   for a in (agent, on_cpu, back_on_device)]
        np.testing.assert_allclose(actions[1], actions[0], atol=1e-4)  # GPU and CPU kernels differ a little
        np.testing.assert_allclose(actions[2], actions[0], atol=1e-6)
        agent.take_action(observation)  # exploring works there too
    env.close()


@pytest.mark.parametrize("device", DEVICES)
def test_train_and_resume_on_a_device(tmp_path, device):
    first = train("sac", "Pendulum-v1", n_timesteps=400, out_dir=tmp_path, device=device,
                  overrides={"learning_starts": 100, "train_freq": 1, "gradient_steps": 1, "eval_freq": 0,
                             "stop_at_return": None, "save_replay_buffer": True})
    first.env.close()
    assert first.agent.device.type == device
    resumed = train("sac", "Pendulum-v1", n_timesteps=600, out_dir=tmp_path, device=device, resume=first.run_dir)
    resumed.env.close()
    assert resumed.summary["replay_buffer_restored"] and resumed.agent.num_timesteps == 600
    assert resumed.agent.n_updates == 500  # 300 before the stop, 200 after: the optimizer went on
    config = yaml.safe_load((resumed.run_dir / "config.yml").read_text())
    assert config["device"] == device and config["resumed_at_step"] == 400


def test_a_batch_moves_field_by_field():
    from zoo.replay_buffer import ReplayBuffer

    buffer = ReplayBuffer(8, (4,), (), seed=0)
    for i in range(8):
        buffer.add(np.full(4, i, np.float32), i % 2, float(i), np.full(4, i + 1, np.float32), i == 7, False)
    batch = buffer.sample(5)
    assert batch.to(torch.device("cpu")) is batch  # the CPU needs no copy
    moved = batch.to(torch.device("meta"))  # a device that is everywhere, to check the fields' order
    for name in ("observations", "actions", "rewards", "next_observations", "terminated"):
        before, after = getattr(batch, name), getattr(moved, name)
        assert after.device.type == "meta" and (after.shape, after.dtype) == (before.shape, before.dtype), name
