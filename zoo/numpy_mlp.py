"""Small MLPs trained in numpy: the forward pass keeping what the backward pass needs, and the
backward pass by hand, on zero-copy views of a torch module's parameters.

Why: for the small networks of RL an update is mostly framework overhead. DQN's update on
CartPole ([128, 128], batch 64) took 1.46 ms in PyTorch on this CPU (autograd and per-op
dispatch; its matrix products ~0.2 ms) and 0.32 ms as the same arithmetic in numpy (measured
2026-11-26, one BLAS thread each). The arrays are views of the torch parameters (CPU only),
so a numpy update changes the module in place: torch forward passes, target copies and
checkpoints see it, and an agent can fall back to autograd wherever this does not apply.

`NumpyMLP.build` mirrors Linear layers with ReLU or Tanh between them and returns None for
anything else (other activations, convolutions, normalisation, another device). Numpy only
wins while the arrays are small (`numpy_is_faster`): beyond that the products dominate, and
torch's (MKL, two threads) are faster than numpy's OpenBLAS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from zoo.networks import EnsembleMLP

# Measured here (2026-11-26, update per call, autograd on one torch thread -> numpy, before
# n_threads limited OpenBLAS too: zoo/threads.py): DQN [128, 128] batch 64 1.46 -> 0.32 ms,
# [256, 256] batch 64 (RL Zoo's CartPole entry) 0.27x SB3's wall time end to end; TD3 [64, 64]
# batch 256 1.7-3.4 -> 1.2-1.5 ms, [128, 128] 4.0 -> 3.4 ms, [256, 256] 12.6 -> 8.2 ms (but 22 ms
# beside two torch threads: the thread pools contended), [400, 300] (RL Zoo's, two torch
# threads) 9.6-10.6 -> 15.8-17.5 ms. The bound sits where numpy still clearly won.
LARGEST_ACTIVATIONS = 256 * 128  # batch x widest layer, per network


def numpy_is_faster(batch_size: int, widths: list[int]) -> bool:
    """Whether an update of MLPs this size runs faster in numpy than with autograd (above)."""
    return batch_size * max(widths, default=1) <= LARGEST_ACTIVATIONS


@dataclass
class _Linear:
    """x @ matrix + bias, on views of a torch layer's parameters. nn.Linear keeps its weight as
    [out, in] (the matrix is its transpose); an EnsembleMLP layer as [members, in, out] with a
    [members, 1, out] bias, so one product runs every member."""

    matrix: np.ndarray
    bias: np.ndarray | None
    weight_gradient: np.ndarray | None  # shaped like the torch weight; None: not asked for
    bias_gradient: np.ndarray | None
    out_by_in: bool  # nn.Linear's layout


_ACTIVATIONS = {nn.ReLU: "relu", nn.Tanh: "tanh"}


class NumpyMLP:
    def __init__(self) -> None:
        self.layers: list[_Linear | str] = []
        self._kept: list[np.ndarray] = []

    @classmethod
    def build(cls, *modules: nn.Module, gradient_of: Mapping[int, np.ndarray] | None = None) -> NumpyMLP | None:
        """Linear layers and activations, in order (Sequentials are read through).
        `gradient_of` (id of a torch parameter -> an array) is where `backward` writes the
        parameters' gradients, for an optimizer to read (ClippedAdam.numpy_gradients); without
        it `backward` computes only dLoss/dInput (a target network, a critic the actor follows)."""
        mirror = cls()
        for module in modules:
            for layer in module if isinstance(module, nn.Sequential) else [module]:
                if isinstance(layer, nn.Linear):
                    if not _mirrorable(layer.weight):
                        return None
                    mirror._add_linear(layer.weight, layer.bias, layer.weight.detach().numpy().T, True, gradient_of)
                elif type(layer) in _ACTIVATIONS:
                    mirror.layers.append(_ACTIVATIONS[type(layer)])
                else:
                    return None
        return mirror

    @classmethod
    def from_ensemble(cls, ensemble: EnsembleMLP, *, member: int | None = None,
                      gradient_of: Mapping[int, np.ndarray] | None = None) -> NumpyMLP | None:
        """All members at once ([B, in] -> [members, B, out]), or one member's layers alone
        ([B, in] -> [B, out]). `gradient_of` as in `build`."""
        activation = _ACTIVATIONS.get(type(ensemble.activation))
        if activation is None or not all(_mirrorable(weight) for weight in ensemble.weights):
            return None
        mirror = cls()
        last = len(ensemble.weights) - 1
        for index, (weight, bias) in enumerate(zip(ensemble.weights, ensemble.biases)):
            if member is None:
                mirror._add_linear(weight, bias, weight.detach().numpy(), False, gradient_of)
            else:  # a member's slices of the parameters have no gradient arrays of their own
                mirror.layers.append(_Linear(weight.detach().numpy()[member], bias.detach().numpy()[member],
                                             None, None, False))
            if index < last:
                mirror.layers.append(activation)
        return mirror

    def _add_linear(self, weight: torch.Tensor, bias: torch.Tensor | None, matrix: np.ndarray, out_by_in: bool,
                    gradient_of: Mapping[int, np.ndarray] | None) -> None:
        def gradient(parameter: torch.Tensor | None) -> np.ndarray | None:
            return None if gradient_of is None or parameter is None else gradient_of[id(parameter)]

        self.layers.append(_Linear(matrix, None if bias is None else bias.detach().numpy(), gradient(weight),
                                   gradient(bias), out_by_in))

    def forward(self, x: np.ndarray, *, keep: bool = False) -> np.ndarray:
        """[B, in] -> [B, out] ([members, B, out] for an ensemble); `keep` holds the layers'
        inputs and activations for `backward` (a pass without it leaves the kept ones alone)."""
        kept = []
        fresh = False  # whether x is this pass's own array (safe to change in place)
        for layer in self.layers:
            if isinstance(layer, _Linear):
                kept.append(x)
                x = x @ layer.matrix
                if layer.bias is not None:
                    x += layer.bias
                fresh = True
            else:
                if layer == "relu":
                    x = np.maximum(x, 0.0, out=x if fresh else None)
                else:
                    x = np.tanh(x, out=x if fresh else None)
                kept.append(x)
                fresh = True
        if keep:
            self._kept = kept
        return x

    def backward(self, output_gradient: np.ndarray) -> None:
        """The parameters' gradients of the kept forward pass, given dLoss/dOutput: written
        (not added) to the arrays `gradient_of` named."""
        self._backward(output_gradient, input_gradient=False)

    def backward_to_input(self, output_gradient: np.ndarray) -> np.ndarray:
        """`backward`, and dLoss/dInput returned (a torso feeding two heads, an actor through
        its critic)."""
        return self._backward(output_gradient, input_gradient=True)

    def _backward(self, output_gradient: np.ndarray, *, input_gradient: bool) -> np.ndarray:
        d = output_gradient
        for index in range(len(self.layers) - 1, -1, -1):
            layer, kept = self.layers[index], self._kept[index]
            if isinstance(layer, _Linear):
                if layer.weight_gradient is not None:
                    if layer.out_by_in:
                        np.matmul(d.T, kept, out=layer.weight_gradient)
                    else:  # members that shared one input [B, in] broadcast against d [members, B, out]
                        np.matmul(np.swapaxes(kept, -1, -2), d, out=layer.weight_gradient)
                if layer.bias_gradient is not None:
                    np.sum(d, axis=-2, keepdims=layer.bias_gradient.ndim == d.ndim, out=layer.bias_gradient)
                if index > 0 or input_gradient:
                    d = d @ np.swapaxes(layer.matrix, -1, -2)
                    if d.ndim > kept.ndim:
                        d = d.sum(axis=0)  # the members' shares of one input
            elif layer == "relu":
                d = d * (kept > 0)
            else:
                d = d * (1.0 - kept * kept)
        return d


def _mirrorable(weight: torch.Tensor) -> bool:
    return weight.device.type == "cpu" and weight.dtype == torch.float32
