"""Where an agent's networks live: `--device auto|cpu|cuda` (or `cuda:N`).

`auto` is not "the GPU whenever there is one". The MLPs of the vector-observation agents are
so small that their updates are mostly per-call overhead, which a GPU only adds to: a kernel
launch per tiny op and, every env step, a host-device round trip for the action (SB3 warns
about the same for its MLP policies; no GPU was at hand here to measure it). So `auto`
gives the GPU only to agents whose networks are worth it (`prefers_gpu`: the CNNs of
vision_dqn) and keeps the others on the CPU; `--device cuda` puts any torch agent on the GPU
on purpose.

The device belongs to the machine, not to the agent: it is not a hyperparameter and not in the
checkpoint, whose arrays are plain numpy, so an agent trained on a GPU loads on a CPU and back.
"""

from __future__ import annotations

from typing import Any

from zoo.errors import ZooError

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"


def resolve_device(name: Any, *, algo: str, uses_torch: bool, prefers_gpu: bool = False):
    """The torch.device for `name`, or None for an agent that computes in numpy (bandits, DP),
    which runs on the CPU whatever it is asked (only an explicit GPU request is refused)."""
    if getattr(name, "type", None) == "meta":
        return name if uses_torch else None  # zoo.build's dry run: shapes without memory
    text = str(name).strip().lower()
    if text not in ("auto", "cpu", "cuda") and not _is_cuda_index(text):
        # Apple's GPU backend: zoo's agents were never run on it (no such machine here), so it is not offered
        why = " (Apple's mps is not supported: zoo trains on the CPU or CUDA GPUs)" if text.startswith("mps") else ""
        raise ZooError(f"--device: unknown device '{name}'{why}; choose {DEVICE_CHOICES}.")
    if not uses_torch:
        if text.startswith("cuda"):
            raise ZooError(f"{algo} computes in numpy on the CPU and has no networks to put on a GPU; "
                           "drop --device.")
        return None

    import torch

    if text == "auto":
        return torch.device("cuda" if prefers_gpu and torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        raise ZooError(f"--device {text}: this PyTorch ({torch.__version__}, {build}) sees no CUDA GPU here. "
                       "Use --device cpu, or auto (the default).")
    device = torch.device(text)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ZooError(f"--device {text}: there are {torch.cuda.device_count()} CUDA device(s), numbered from 0.")
    return device


def _is_cuda_index(text: str) -> bool:
    prefix, _, index = text.partition(":")
    return prefix == "cuda" and index.isdigit()
