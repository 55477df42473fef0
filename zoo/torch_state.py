"""Torch modules and optimizers <-> flat dicts of numpy arrays, for checkpoints.

Checkpoints hold plain arrays only (no pickles), so a state dict is flattened to
'prefix.name' -> array and rebuilt on load, with shapes checked against the live module.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from zoo.errors import ZooError


def module_arrays(prefix: str, module: nn.Module) -> dict[str, np.ndarray]:
    return {f"{prefix}.{name}": tensor.detach().cpu().numpy().copy() for name, tensor in module.state_dict().items()}


def load_module_arrays(prefix: str, module: nn.Module, arrays: dict[str, np.ndarray]) -> None:
    expected = module.state_dict()
    state = {}
    for name, reference in expected.items():
        key = f"{prefix}.{name}"
        if key not in arrays:
            raise ZooError(f"The checkpoint has no '{key}'; it was saved by a different network or version.")
        if tuple(arrays[key].shape) != tuple(reference.shape):
            raise ZooError(
                f"The checkpoint's '{key}' has shape {tuple(arrays[key].shape)}, this network needs "
                f"{tuple(reference.shape)}: the net_arch or spaces differ from the saved agent's."
            )
        state[name] = torch.from_numpy(np.asarray(arrays[key])).to(reference.dtype)
    module.load_state_dict(state)


def optimizer_arrays(prefix: str, optimizer: torch.optim.Optimizer) -> dict[str, np.ndarray]:
    """Per-parameter optimizer state (Adam's moments and step); hyperparameters come from the config."""
    arrays = {}
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            arrays[f"{prefix}.{index}.{key}"] = torch.as_tensor(value).detach().cpu().numpy().copy()
    return arrays


def load_optimizer_arrays(prefix: str, optimizer: torch.optim.Optimizer, arrays: dict[str, np.ndarray]) -> None:
    """Restore what `optimizer_arrays` saved; a checkpoint saved before any update has none."""
    state_dict = optimizer.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in arrays.items():
        if not key.startswith(prefix + "."):
            continue
        index, name = key[len(prefix) + 1:].split(".", 1)
        state.setdefault(int(index), {})[name] = torch.from_numpy(np.asarray(value).copy())
    if state:
        state_dict["state"] = state
        try:
            optimizer.load_state_dict(state_dict)
        except (ValueError, RuntimeError, KeyError) as error:
            raise ZooError(f"The checkpoint's optimizer state does not fit this agent ({error}).") from None
