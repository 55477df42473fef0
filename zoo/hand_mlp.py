"""Small MLPs trained by hand: the forward pass keeping what the backward pass needs, and the
backward pass written out, on zero-copy views of a torch module's parameters, in numpy or in
torch operations without autograd.

Why numpy: for the small networks of RL an update is mostly framework overhead. DQN's update on
CartPole ([128, 128], batch 64) took 1.46 ms in PyTorch on this CPU (autograd and per-op
dispatch; its matrix products ~0.2 ms) and 0.32 ms as the same arithmetic in numpy (measured
2026-11-26, one BLAS thread each). The arrays are views of the torch parameters (CPU only),
so a numpy update changes the module in place: torch forward passes, target copies and
checkpoints see it, and an agent can fall back to autograd wherever this does not apply.

Why torch without autograd: beyond `numpy_is_faster` the products dominate, and torch's (MKL,
two threads) beat numpy's OpenBLAS beside torch's thread pool; there the same walk runs on torch
tensors (`backend="torch"`): no graph to record, no gradients nobody reads (only the action
columns of dQ/dInput, TD3's actor following the first critic), and skinny products laid out
the way MKL runs them fast ([in, B] x [B, out] for a layer of 4 inputs: 24 us against 73 us for
[out, B] x [B, in]). Measured 2026-11-26 on RL Zoo's [400, 300] nets, batch 256, two threads,
interleaved in one process: DDPG 0.84-0.92x and TD3 0.89-0.94x autograd's time per update.

`HandMLP.build` mirrors Linear layers with ReLU or Tanh between them and returns None for
anything else (other activations, convolutions, normalisation, another device).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from zoo.networks import EnsembleMLP
from zoo.optim import ClippedAdam, step_together

Backend = Literal["numpy", "torch"]
# Which output units of a layer the backward products cover (TorchOps.live_outputs): None for
# all, an index of units, or one index per ensemble member
Live = torch.Tensor | list[torch.Tensor] | None

# Measured here (2026-11-26, update per call, autograd on one torch thread -> numpy, before
# n_threads limited OpenBLAS too: zoo/threads.py): DQN [128, 128] batch 64 1.46 -> 0.32 ms,
# [256, 256] batch 64 (RL Zoo's CartPole entry) 0.27x SB3's wall time end to end; TD3 [64, 64]
# batch 256 1.7-3.4 -> 1.2-1.5 ms, [128, 128] 4.0 -> 3.4 ms, [256, 256] 12.6 -> 8.2 ms (but 22 ms
# beside two torch threads: the thread pools contended), [400, 300] (RL Zoo's, two torch
# threads) 9.6-10.6 -> 15.8-17.5 ms. The bound sits where numpy still clearly won.
LARGEST_ACTIVATIONS = 256 * 128  # batch x widest layer, per network
SKINNY = 16  # a layer with fewer inputs gets its weight gradient as [in, B] x [B, out], transposed
# Dead ReLU units (TorchOps.live_outputs): left out of the backward products of layers at least
# this wide both ways, when at most LIVE_FRACTION of a layer's units are live. Measured here
# (2026-11-27, RL Zoo's [400, 300], batch 256, two threads): DDPG's second layers keep 34-49%
# of their units live from the first thousand updates on (the actor's 34-43%, the critic's
# ~49%), and the two backward products of such a layer took 750 us in full against ~490 us
# over the live units, the liveness check and gathers included; DDPG's update 0.87-0.91x,
# TD3's 0.91-0.95x (its twin critics ~50% live each, taken member by member). SAC's layers
# stay ~99% live in training (its entropy bonus keeps the policy's units moving), where the
# check alone cost 2.5% of its update: HandMLP's `skip_dead_units` is DDPG's and TD3's only.
DEAD_UNITS_MIN_WIDTH = 64
LIVE_FRACTION = 0.8


def numpy_is_faster(batch_size: int, widths: list[int]) -> bool:
    """Whether an update of MLPs this size runs faster in numpy than in torch (above)."""
    return batch_size * max(widths, default=1) <= LARGEST_ACTIVATIONS


def hand_backend(batch_size: int, widths: list[int]) -> Backend:
    return "numpy" if numpy_is_faster(batch_size, widths) else "torch"


@dataclass
class _Linear:
    """x @ matrix + bias, on views of a torch layer's parameters (numpy arrays or detached
    tensors). nn.Linear keeps its weight as [out, in] (the matrix is its transpose); an
    EnsembleMLP layer as [members, in, out] with a [members, 1, out] bias, so one product runs
    every member."""

    # numpy arrays or tensors, by backend (Any: the walk is written once for both)
    matrix: Any
    bias: Any  # None: a layer without bias
    weight_gradient: Any  # shaped like the torch weight; None: not asked for
    bias_gradient: Any
    out_by_in: bool  # nn.Linear's layout


_ACTIVATIONS = {nn.ReLU: "relu", nn.Tanh: "tanh"}


class HandMLP:
    def __init__(self, backend: Backend = "numpy", *, skip_dead_units: bool = False) -> None:
        self.ops: NumpyOps | TorchOps = NumpyOps() if backend == "numpy" else TorchOps()
        # see TorchOps.live_outputs; numpy's networks are the small ones, where it would not pay
        self.skip_dead_units = skip_dead_units and backend == "torch"
        self.layers: list[_Linear | str] = []
        self._kept: list[Any] = []

    @classmethod
    def build(cls, *modules: nn.Module, gradient_of: Mapping[int, Any] | None = None,
              backend: Backend = "numpy", skip_dead_units: bool = False) -> HandMLP | None:
        """Linear layers and activations, in order (Sequentials are read through).
        `gradient_of` (id of a torch parameter -> an array of the backend) is where `backward`
        writes the parameters' gradients, for an optimizer to read (ClippedAdam.numpy_gradients,
        torch_gradients); without it `backward` computes only dLoss/dInput (a target network, a
        critic the actor follows). `skip_dead_units`: the backward products leave out the ReLU
        units dead on the batch (TorchOps.live_outputs), for networks that have many."""
        mirror = cls(backend, skip_dead_units=skip_dead_units)
        for module in modules:
            for layer in module if isinstance(module, nn.Sequential) else [module]:
                if isinstance(layer, nn.Linear):
                    if not _mirrorable(layer.weight):
                        return None
                    mirror._add_linear(layer.weight, layer.bias, mirror.ops.view(layer.weight).T, True, gradient_of)
                elif type(layer) in _ACTIVATIONS:
                    mirror.layers.append(_ACTIVATIONS[type(layer)])
                else:
                    return None
        return mirror

    @classmethod
    def from_ensemble(cls, ensemble: EnsembleMLP, *, member: int | None = None,
                      gradient_of: Mapping[int, Any] | None = None, backend: Backend = "numpy",
                      skip_dead_units: bool = False) -> HandMLP | None:
        """All members at once ([B, in] -> [members, B, out]), or one member's layers alone
        ([B, in] -> [B, out]). `gradient_of` and `skip_dead_units` as in `build`."""
        activation = _ACTIVATIONS.get(type(ensemble.activation))
        if activation is None or not all(_mirrorable(weight) for weight in ensemble.weights):
            return None
        mirror = cls(backend, skip_dead_units=skip_dead_units)
        view = mirror.ops.view
        last = len(ensemble.weights) - 1
        for index, (weight, bias) in enumerate(zip(ensemble.weights, ensemble.biases)):
            if member is None:
                mirror._add_linear(weight, bias, view(weight), False, gradient_of)
            else:  # a member's slices of the parameters have no gradient arrays of their own
                mirror.layers.append(_Linear(view(weight)[member], view(bias)[member], None, None, False))
            if index < last:
                mirror.layers.append(activation)
        return mirror

    def _add_linear(self, weight: torch.Tensor, bias: torch.Tensor | None, matrix: Any, out_by_in: bool,
                    gradient_of: Mapping[int, Any] | None) -> None:
        def gradient(parameter: torch.Tensor | None) -> Any:
            return None if gradient_of is None or parameter is None else gradient_of[id(parameter)]

        self.layers.append(_Linear(matrix, None if bias is None else self.ops.view(bias), gradient(weight),
                                   gradient(bias), out_by_in))

    def forward(self, x: Any, *, keep: bool = False) -> Any:
        """[B, in] -> [B, out] ([members, B, out] for an ensemble); `keep` holds the layers'
        inputs and activations for `backward` (a pass without it leaves the kept ones alone)."""
        kept: list[Any] = []
        fresh = False  # whether x is this pass's own array (safe to change in place)
        for layer in self.layers:
            if isinstance(layer, _Linear):
                kept.append(x)
                x = self.ops.linear(x, layer)
            else:
                x = self.ops.activate(layer, x, in_place=fresh)
                kept.append(x)
            fresh = True
        if keep:
            self._kept = kept
        return x

    def backward(self, output_gradient: Any, *, rows: slice = slice(None)) -> None:
        """The parameters' gradients of the kept forward pass, given dLoss/dOutput: written
        (not added) to the arrays `gradient_of` named. `rows`: the kept pass's batch rows the
        loss reads (SAC's actor runs s and s' in one pass; its loss reads s's rows)."""
        self._backward(output_gradient, input_gradient=False, rows=rows)

    def backward_to_input(self, output_gradient: Any, columns: slice = slice(None), *, rows: slice = slice(None),
                          parameter_gradients: bool = True) -> Any:
        """`backward`, and dLoss/dInput returned (a torso feeding two heads, an actor through
        its critic), for the input `columns` asked (an actor needs dQ/da, not dQ/ds).
        Without `parameter_gradients` only dLoss/dInput (an actor's loss through critics whose
        weights it does not move)."""
        return self._backward(output_gradient, input_gradient=True, columns=columns, rows=rows,
                              parameter_gradients=parameter_gradients)

    def _backward(self, output_gradient: Any, *, input_gradient: bool, columns: slice = slice(None),
                  rows: slice = slice(None), parameter_gradients: bool = True) -> Any:
        ops, d = self.ops, output_gradient
        fresh = False  # the caller's gradient is not ours to overwrite
        for index in range(len(self.layers) - 1, -1, -1):
            layer, kept = self.layers[index], self._kept[index]
            if rows != slice(None):
                kept = kept[..., rows, :]
            if isinstance(layer, _Linear):
                if parameter_gradients and layer.bias_gradient is not None:
                    ops.bias_gradient(d, layer)
                live = self._live_outputs(layer, index, kept, rows)
                if live is not None:  # from here on d holds the live units' columns alone
                    d = _live_columns(d, live)
                if parameter_gradients and layer.weight_gradient is not None:
                    ops.weight_gradient(d, kept, layer, live)
                if index > 0 or input_gradient:
                    d = ops.input_gradient(d, layer, kept.ndim, columns if index == 0 else slice(None), live)
                    fresh = True
            else:
                d = ops.activation_backward(layer, d, kept, in_place=fresh)
                fresh = True
        return d

    def _live_outputs(self, layer: _Linear, index: int, inputs: Any, rows: slice) -> Live:
        """The output units of `layer` (at `index`, fed `inputs`) that the ReLU after it let
        through for some row of the kept pass (`rows` of it); None for all of them, or where
        this mirror does not leave dead units out (TorchOps.live_outputs)."""
        if not self.skip_dead_units or index + 1 >= len(self.layers) or self.layers[index + 1] != "relu":
            return None
        activation = self._kept[index + 1]
        if rows != slice(None):
            activation = activation[..., rows, :]
        return TorchOps.live_outputs(activation, inputs, layer)


class NumpyOps:
    """The walk's arithmetic in numpy (one BLAS thread per `n_threads`, zoo/threads.py)."""

    @staticmethod
    def view(parameter: torch.Tensor) -> np.ndarray:
        return parameter.detach().numpy()

    @staticmethod
    def linear(x: np.ndarray, layer: _Linear) -> np.ndarray:
        x = x @ layer.matrix
        if layer.bias is not None:
            x += layer.bias
        return x

    @staticmethod
    def activate(name: str, x: np.ndarray, *, in_place: bool) -> np.ndarray:
        if name == "relu":
            return np.maximum(x, 0.0, out=x if in_place else None)
        return np.tanh(x, out=x if in_place else None)

    @staticmethod
    def activation_backward(name: str, d: np.ndarray, kept: np.ndarray, *, in_place: bool) -> np.ndarray:
        return d * (kept > 0) if name == "relu" else d * (1.0 - kept * kept)

    @staticmethod
    def weight_gradient(d: np.ndarray, kept: np.ndarray, layer: _Linear, live: Live) -> None:
        if layer.out_by_in:
            np.matmul(d.T, kept, out=layer.weight_gradient)
        else:  # members that shared one input [B, in] broadcast against d [members, B, out]
            np.matmul(np.swapaxes(kept, -1, -2), d, out=layer.weight_gradient)

    @staticmethod
    def bias_gradient(d: np.ndarray, layer: _Linear) -> None:
        np.sum(d, axis=-2, keepdims=layer.bias_gradient.ndim == d.ndim, out=layer.bias_gradient)

    @staticmethod
    def input_gradient(d: np.ndarray, layer: _Linear, input_ndim: int, columns: slice, live: Live) -> np.ndarray:
        d = d @ np.swapaxes(layer.matrix[..., columns, :], -1, -2)
        return d.sum(axis=0) if d.ndim > input_ndim else d  # the members' shares of one input

    # -- what an update around the networks needs (zoo/agents/ddpg.py) --

    @staticmethod
    def array(tensor: torch.Tensor) -> np.ndarray:
        return tensor.numpy()

    @staticmethod
    def concat(arrays: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(arrays, 1)

    @staticmethod
    def clip(x: np.ndarray, low: float, high: float) -> np.ndarray:
        return np.clip(x, low, high)

    @staticmethod
    def member_min(x: np.ndarray) -> np.ndarray:
        return x.min(axis=0)

    xp = np  # the module whose exp, log, tanh and clip the update's own arithmetic calls (SAC's)

    @staticmethod
    def concat_rows(arrays: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(arrays, 0)

    @staticmethod
    def member_min_and_index(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The smallest member's value per row of [members, B], and which member (the first of
        equals, as torch's min)."""
        index = x.argmin(axis=0)
        return np.take_along_axis(x, index[None], 0)[0], index

    @staticmethod
    def member_one_hot(index: np.ndarray, members: int, value: float) -> np.ndarray:
        """[members, B] of zeros with `value` at each row's chosen member."""
        array = np.zeros((members, len(index)), dtype=np.float32)
        array[index, np.arange(len(index))] = value
        return array

    @staticmethod
    def full_like(x: np.ndarray, value: float) -> np.ndarray:
        return np.full_like(x, value)

    @staticmethod
    def step(optimizer: ClippedAdam) -> None:
        optimizer.numpy_step()  # reads numpy_gradients(), where backward wrote

    @staticmethod
    def step_together(optimizers: list[ClippedAdam]) -> None:
        """zoo.optim.step_together's fused kernel on one torch thread (2.5% faster than numpy
        there), each step in numpy beside more: with two threads each, torch's kernel between
        numpy's products ran SAC's update 18x slower as the two thread pools fought (15.9 ms
        against 1.0 ms; measured 2026-11-27, [64, 64], batch 128)."""
        if torch.get_num_threads() == 1:
            step_together(optimizers)
            return
        for optimizer in optimizers:
            optimizer.numpy_step()


class TorchOps:
    """The walk's arithmetic as torch operations outside autograd (torch's threads)."""

    @staticmethod
    def view(parameter: torch.Tensor) -> torch.Tensor:
        return parameter.detach()

    @staticmethod
    def linear(x: torch.Tensor, layer: _Linear) -> torch.Tensor:
        """x @ matrix + bias in MKL. (oneDNN's product with the activation fused in,
        torch.ops.mkldnn._linear_pointwise, ran 10-20% faster than addmm alone, yet gave nothing
        inside DDPG's update and cost TD3's 12%: measured 2026-11-26, interleaved in one process.)"""
        matrix, bias = layer.matrix, layer.bias
        if matrix.ndim == 2:
            return torch.mm(x, matrix) if bias is None else torch.addmm(bias, x, matrix)
        if matrix.shape[-1] == 1:  # as EnsembleMLP: CPU bmm has no fast path for one output column
            return (x * matrix.transpose(1, 2)).sum(-1, keepdim=True) + bias
        return torch.baddbmm(bias, x.expand(len(matrix), *x.shape[-2:]), matrix)

    @staticmethod
    def activate(name: str, x: torch.Tensor, *, in_place: bool) -> torch.Tensor:
        if name == "relu":
            return x.relu_() if in_place else torch.relu(x)
        return x.tanh_() if in_place else torch.tanh(x)

    @staticmethod
    def activation_backward(name: str, d: torch.Tensor, kept: torch.Tensor, *, in_place: bool) -> torch.Tensor:
        if name == "relu":  # autograd's ReLU backward, written into d when d is the walk's own
            if in_place:
                return torch.ops.aten.threshold_backward.grad_input(d, kept, 0.0, grad_input=d)
            return torch.ops.aten.threshold_backward(d, kept, 0.0)
        return torch.ops.aten.tanh_backward(d, kept)

    @staticmethod
    def live_outputs(activation: torch.Tensor, inputs: torch.Tensor, layer: _Linear) -> Live:
        """The units (columns) of a ReLU's output [B, out] that are not 0 on every row, where
        leaving the others out pays: a layer at least DEAD_UNITS_MIN_WIDTH wide both ways, with
        at most LIVE_FRACTION of its units live. A dead unit's column of dLoss/dOutput is 0, so
        its row of the weight gradient is 0 and it adds nothing to dLoss/dInput: the backward
        products can leave it out (fewer rows of dW, a shorter sum for dX). An ensemble's
        members ([members, B, out]: TD3's twin critics) each have their own: one
        index per member, their products then one by one (not for a first layer, whose input
        [B, in] the members share)."""
        if min(layer.matrix.shape[-2:]) < DEAD_UNITS_MIN_WIDTH or inputs.ndim < activation.ndim:
            return None
        # Each column's sum over the batch: 0 only where every entry is (ReLU outputs are >= 0,
        # so nothing cancels); a NaN sum counts as live, so NaN still reaches the gradients.
        # A product with a vector of ones: 3-10x faster here than x.amax(0) or (x != 0).any(0).
        ones = activation.new_ones(activation.shape[-2])
        if activation.ndim == 2:
            sums = torch.mv(activation.t(), ones)
        else:  # [members, out]
            sums = torch.bmm(ones.expand(len(activation), 1, len(ones)), activation)[:, 0]
        # counted before indexed: where too many are live, the check ends at 12-19 us
        if int(torch.count_nonzero(sums)) > LIVE_FRACTION * sums.numel():
            return None
        if activation.ndim == 2:
            return sums.nonzero().squeeze(1)
        return [member.nonzero().squeeze(1) for member in sums]

    @staticmethod
    def weight_gradient(d: Any, kept: torch.Tensor, layer: _Linear, live: Live) -> None:
        """dW = d^T @ kept (kept^T @ d for the [in, out] layouts) into the gradient array; with
        `live`, d holds those units' columns only (_live_columns) and the rest of dW is 0."""
        gradient = layer.weight_gradient
        if isinstance(live, list):  # an ensemble's [members, in, out], member by member
            gradient.zero_()
            for member, index in enumerate(live):
                gradient[member].index_copy_(1, index, torch.mm(kept[member].t(), d[member]))
        elif live is not None:  # nn.Linear's [out, in], or one member's [in, out]
            gradient.zero_()
            if layer.out_by_in:
                gradient.index_copy_(0, live, torch.mm(d.t(), kept))
            else:
                gradient.index_copy_(1, live, torch.mm(kept.t(), d))
        elif not layer.out_by_in:  # [members, in, out]
            if gradient.shape[-1] == 1:  # one output column, as in linear()
                gradient.copy_((kept * d).sum(-2, keepdim=True).transpose(-1, -2))
            else:
                torch.matmul(kept.transpose(-1, -2), d, out=gradient)
        elif kept.shape[-1] < SKINNY:
            gradient.copy_(torch.mm(kept.t(), d).t())
        else:
            torch.mm(d.t(), kept, out=gradient)

    @staticmethod
    def bias_gradient(d: torch.Tensor, layer: _Linear) -> None:
        gradient = layer.bias_gradient
        torch.sum(d, dim=-2, keepdim=gradient.ndim == d.ndim, out=gradient)

    @staticmethod
    def input_gradient(d: Any, layer: _Linear, input_ndim: int, columns: slice, live: Live) -> torch.Tensor:
        """dInput = d @ matrix^T; with `live` (d holding those columns), over those units only.
        The weight's live rows are gathered from its contiguous layout: nn.Linear's [out, in]
        by rows, an ensemble member's [in, out] by columns (a gather across a transposed view
        took 4x longer)."""
        if isinstance(live, list):  # per member, into one [members, B, in]
            gradient = d[0].new_empty((len(live), len(d[0]), layer.matrix.shape[-2]))
            for member, index in enumerate(live):
                torch.mm(d[member], layer.matrix[member].index_select(1, index).t(), out=gradient[member])
            return gradient
        if live is not None:
            matrix = layer.matrix[columns, :]
            rows = matrix.t().index_select(0, live) if layer.out_by_in else matrix.index_select(1, live).t()
            return torch.mm(d, rows)
        matrix = layer.matrix[..., columns, :]
        if matrix.ndim == 3 and matrix.shape[-1] == 1:  # an outer product per member
            d = d * matrix.transpose(-1, -2)
        else:
            d = torch.matmul(d, matrix.transpose(-1, -2))
        return d.sum(0) if d.ndim > input_ndim else d

    # -- what an update around the networks needs (zoo/agents/ddpg.py) --

    @staticmethod
    def array(tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    @staticmethod
    def concat(arrays: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(arrays, 1)

    @staticmethod
    def clip(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return x.clamp(low, high)

    @staticmethod
    def member_min(x: torch.Tensor) -> torch.Tensor:
        return x.min(0).values

    xp = torch

    @staticmethod
    def concat_rows(arrays: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(arrays)

    @staticmethod
    def member_min_and_index(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        smallest = x.min(0)
        return smallest.values, smallest.indices

    @staticmethod
    def member_one_hot(index: torch.Tensor, members: int, value: float) -> torch.Tensor:
        return torch.zeros(members, len(index)).scatter_(0, index.unsqueeze(0), value)

    @staticmethod
    def full_like(x: torch.Tensor, value: float) -> torch.Tensor:
        return torch.full_like(x, value)

    @staticmethod
    def step(optimizer: ClippedAdam) -> None:
        optimizer.step(optimizer.torch_gradients())  # the fused kernel on what backward wrote

    @staticmethod
    def step_together(optimizers: list[ClippedAdam]) -> None:
        step_together(optimizers)


def _live_columns(d: torch.Tensor, live: torch.Tensor | list[torch.Tensor]) -> Any:
    """d's columns of the live units (TorchOps.live_outputs): [B, live], or one [B, the
    member's live] per ensemble member."""
    if isinstance(live, list):
        return [d[member].index_select(1, index) for member, index in enumerate(live)]
    return d.index_select(1, live)


def _mirrorable(weight: torch.Tensor) -> bool:
    return weight.device.type == "cpu" and weight.dtype == torch.float32
