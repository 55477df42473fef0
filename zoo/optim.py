"""Adam with gradient-norm clipping, as one lean step on PyTorch's fused kernel (CPU or CUDA);
and RMSprop with clipping (ClippedRMSprop), for SB3's A2C optimizer.

`torch.optim.Adam(fused=True)` spends ~60 us of Python around a ~10 us kernel on every step,
and `clip_grad_norm_` plus `zero_grad` another ~50 us; for the small networks of RL, whose
updates are mostly such overhead, that was ~10% of DQN's training time (measured on this
CPU). This class keeps the same state and arithmetic (the results are identical to
`torch.optim.Adam`, tested) and calls the kernel directly. Where the kernel is missing
(another PyTorch build) it falls back to `torch.optim.Adam`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from zoo.errors import ZooError

_HAS_FUSED_KERNEL = hasattr(torch, "_fused_adam_")


class ClippedAdam:
    def __init__(self, params, lr: float, max_grad_norm: float = 0.0, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        self.lr, self.max_grad_norm, self.betas, self.eps = float(lr), float(max_grad_norm), betas, eps
        # The moments and step counts live in one flat buffer each (the kernel gets per-parameter
        # views): numpy_step then runs Adam as a handful of whole-buffer operations. One buffer
        # needs one dtype and device; mixed parameters get one tensor each and no numpy_step.
        # torch.zeros, not zeros_like: on the meta device (zoo.build's dry build) *_like imports
        # torch's symbolic-shapes machinery and sympy, 0.7 s of every `zoo train` start-up
        self._flat = len({(p.dtype, p.device) for p in self.params}) == 1
        if self._flat:
            dtype, device = self.params[0].dtype, self.params[0].device
            size = sum(p.numel() for p in self.params)
            self.flat_exp_avg = torch.zeros(size, dtype=dtype, device=device)
            self.flat_exp_avg_sq = torch.zeros(size, dtype=dtype, device=device)
            # the fused kernels take each step count on its parameter's device (CPU and CUDA alike)
            self.flat_steps = torch.zeros(len(self.params), dtype=torch.float32, device=device)
            self.exp_avgs = _views(self.flat_exp_avg, self.params)
            self.exp_avg_sqs = _views(self.flat_exp_avg_sq, self.params)
            self.steps = list(self.flat_steps.unbind())
        else:
            self.exp_avgs = [torch.zeros(p.shape, dtype=p.dtype, device=p.device) for p in self.params]
            self.exp_avg_sqs = [torch.zeros(p.shape, dtype=p.dtype, device=p.device) for p in self.params]
            self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]
        self._fallback = None if _HAS_FUSED_KERNEL else torch.optim.Adam(self.params, lr=lr, betas=betas, eps=eps)
        self._flat_gradient: np.ndarray | None = None  # numpy_gradients', made on first use

    @property
    def runs_by_hand(self) -> bool:
        """Whether gradients computed by hand (zoo.hand_mlp) can drive this optimizer: CPU
        tensors, this class's own flat state (`numpy_step`, or `step` on `torch_gradients`)."""
        return (self._fallback is None and self._flat and self.params[0].device.type == "cpu"
                and self.params[0].dtype == torch.float32)

    def numpy_gradients(self) -> list[np.ndarray]:
        """Arrays for gradients computed in numpy (zoo.hand_mlp), one per parameter in order,
        views of the one buffer `numpy_step` reads."""
        return [view.numpy() for view in self.torch_gradients()]

    def torch_gradients(self) -> list[torch.Tensor]:
        """The same buffer's per-parameter views as tensors, for gradients computed by torch
        operations outside autograd: `step(self.torch_gradients())` reads them."""
        if self._flat_gradient is None:
            size = self.flat_exp_avg.numel()
            self._flat_gradient, self._flat_change = np.zeros(size, np.float32), np.zeros(size, np.float32)
            # made once: per-parameter views of the parameters and of the step to subtract from them
            self._numpy_parameters = [p.detach().numpy() for p in self.params]
            self._changes = [view.numpy() for view in _views(torch.from_numpy(self._flat_change), self.params)]
            self._gradient_views = _views(torch.from_numpy(self._flat_gradient), self.params)
        return list(self._gradient_views)

    def gradient_of(self, backend: str) -> dict[int, Any]:
        """id(parameter) -> its view of the gradient buffer, as numpy arrays ("numpy") or tensors
        ("torch"): what zoo.hand_mlp's `gradient_of` takes."""
        views = self.numpy_gradients() if backend == "numpy" else self.torch_gradients()
        return dict(zip(map(id, self.params), views))

    def set_learning_rate(self, lr: float) -> None:
        """A schedule's value for the next steps (PPO's `lin_3e-4`)."""
        self.lr = float(lr)
        if self._fallback is not None:
            for group in self._fallback.param_groups:
                group["lr"] = self.lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self, gradients: list[torch.Tensor] | None = None) -> None:
        """Clip and step on the parameters' .grad, or on `gradients` (one per parameter)."""
        grads = [p.grad for p in self.params] if gradients is None else gradients
        _clip(grads, self.max_grad_norm)
        if self._fallback is not None:
            self._fallback.step()
            return
        torch._foreach_add_(self.steps, 1)
        torch._fused_adam_(
            self.params, grads, self.exp_avgs, self.exp_avg_sqs, [], self.steps,
            lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=0.0, eps=self.eps,
            amsgrad=False, maximize=False,
        )

    def numpy_step(self) -> None:
        """`step` for the gradients written to `numpy_gradients`: the same clipping and Adam
        arithmetic, in numpy on zero-copy views of the parameters and the flat state (equal to
        the fused kernel's within float32 rounding, tested)."""
        gradient = self._flat_gradient
        assert gradient is not None, "numpy_gradients() or torch_gradients() first"
        if self.max_grad_norm > 0:
            scale = self.max_grad_norm / (math.sqrt(float(np.dot(gradient, gradient))) + 1e-6)
            if scale < 1.0:
                gradient *= scale
        counts = self.flat_steps.numpy()
        counts += 1
        step = float(counts[0])  # the counts move together (load_state_arrays refuses otherwise)
        beta1, beta2 = self.betas
        exp_avg, exp_avg_sq = self.flat_exp_avg.numpy(), self.flat_exp_avg_sq.numpy()
        exp_avg *= beta1
        exp_avg += (1.0 - beta1) * gradient
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * gradient * gradient
        change = np.sqrt(exp_avg_sq, out=self._flat_change)
        change *= 1.0 / math.sqrt(1.0 - beta2**step)
        change += self.eps
        np.divide(exp_avg, change, out=change)
        change *= self.lr / (1.0 - beta1**step)
        for param, param_change in zip(self._numpy_parameters, self._changes):
            param -= param_change

    # -- checkpoints -------------------------------------------------------------------

    def state_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        if self._fallback is not None:
            from zoo.torch_state import optimizer_arrays

            return optimizer_arrays(prefix, self._fallback)
        arrays = {}
        for i, (m, v, step) in enumerate(zip(self.exp_avgs, self.exp_avg_sqs, self.steps)):
            arrays[f"{prefix}.{i}.exp_avg"] = m.cpu().numpy().copy()
            arrays[f"{prefix}.{i}.exp_avg_sq"] = v.cpu().numpy().copy()
            arrays[f"{prefix}.{i}.step"] = step.cpu().numpy().copy()
        return arrays

    def load_state_arrays(self, prefix: str, arrays: dict[str, np.ndarray]) -> None:
        """Restore moments and step counts; a checkpoint saved before any update has none."""
        if self._fallback is not None:
            from zoo.torch_state import load_optimizer_arrays

            load_optimizer_arrays(prefix, self._fallback, arrays)
            return
        if f"{prefix}.0.step" not in arrays:
            return
        with torch.no_grad():
            for i, (m, v, step) in enumerate(zip(self.exp_avgs, self.exp_avg_sqs, self.steps)):
                for name, tensor in (("exp_avg", m), ("exp_avg_sq", v), ("step", step)):
                    key = f"{prefix}.{i}.{name}"
                    if key not in arrays or tuple(arrays[key].shape) != tuple(tensor.shape):
                        raise ZooError(f"The checkpoint's optimizer state '{key}' does not fit this agent.")
                    tensor.copy_(torch.from_numpy(np.asarray(arrays[key])))
        counts = {float(count) for count in self.steps}
        if len(counts) != 1:  # every step moves them all together; numpy_step relies on it
            raise ZooError(f"The checkpoint's optimizer step counts differ between parameters "
                           f"({', '.join(f'{c:g}' for c in sorted(counts)[:4])}): it is corrupt.")


class ClippedRMSprop:
    """RMSprop with gradient-norm clipping, as SB3's A2C steps (its default `use_rms_prop`:
    torch.optim.RMSprop with alpha 0.99, eps 1e-5, no momentum, not centered), in torch's
    multi-tensor operations: square_avg = alpha * square_avg + (1 - alpha) * g^2, then
    p -= lr * g / (sqrt(square_avg) + eps). Equal to torch.optim.RMSprop after
    clip_grad_norm_ (tested); the same interface as ClippedAdam where A2C uses it."""

    def __init__(self, params, lr: float, max_grad_norm: float = 0.0, alpha: float = 0.99, eps: float = 1e-5):
        self.params = list(params)
        self.lr, self.max_grad_norm, self.alpha, self.eps = float(lr), float(max_grad_norm), alpha, eps
        self.square_avgs = [torch.zeros(p.shape, dtype=p.dtype, device=p.device) for p in self.params]

    def set_learning_rate(self, lr: float) -> None:
        self.lr = float(lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        held = [i for i, p in enumerate(self.params) if p.grad is not None]  # as torch's: no gradient, no step
        params = [self.params[i] for i in held]
        grads = [p.grad for p in params]
        averages = [self.square_avgs[i] for i in held]
        with torch.no_grad():
            _clip(grads, self.max_grad_norm)
            torch._foreach_mul_(averages, self.alpha)
            torch._foreach_addcmul_(averages, grads, grads, value=1.0 - self.alpha)
            denominators = torch._foreach_sqrt(averages)
            torch._foreach_add_(denominators, self.eps)
            torch._foreach_addcdiv_(params, grads, denominators, value=-self.lr)

    def state_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.{i}.square_avg": v.cpu().numpy().copy() for i, v in enumerate(self.square_avgs)}

    def load_state_arrays(self, prefix: str, arrays: dict[str, np.ndarray]) -> None:
        """Restore the running averages (all zero before the first update)."""
        with torch.no_grad():
            for i, average in enumerate(self.square_avgs):
                key = f"{prefix}.{i}.square_avg"
                value = arrays.get(key)
                if value is None or tuple(np.shape(value)) != tuple(average.shape):
                    raise ZooError(f"The checkpoint's optimizer state '{key}' does not fit this agent.")
                stored = torch.from_numpy(np.asarray(value, dtype=np.float32))
                if not bool(torch.isfinite(stored).all()) or bool((stored < 0).any()):
                    raise ZooError(f"The checkpoint's optimizer state '{key}' is not a running mean of squares.")
                average.copy_(stored)


def _clip(grads: list[torch.Tensor], max_grad_norm: float) -> None:
    """clip_grad_norm_'s arithmetic: scale by max_norm / (norm + 1e-6) when that is below 1."""
    if max_grad_norm > 0:
        total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        torch._foreach_mul_(grads, torch.clamp(max_grad_norm / (total_norm + 1e-6), max=1.0))


def step_together(optimizers: Sequence[ClippedAdam]) -> None:
    """Each optimizer's `step(torch_gradients())` (gradients computed by hand), as one call of
    the fused kernel where they can share it: flat state, no clipping, the same step size,
    betas and eps (SAC's critics, actor and temperature). Adam's arithmetic is per parameter,
    so the results are the same; the dispatches drop from six to two (SAC's three steps 143 ->
    116 us per update on RL Zoo's [256, 256], measured 2026-11-26)."""
    first = optimizers[0]
    if any(o._fallback is not None or not o._flat or o.max_grad_norm > 0
           or (o.lr, o.betas, o.eps) != (first.lr, first.betas, first.eps) for o in optimizers):
        for optimizer in optimizers:
            optimizer.step(optimizer.torch_gradients())
        return
    torch._foreach_add_([o.flat_steps for o in optimizers], 1)  # the per-parameter step counts are its views
    torch._fused_adam_(
        [p for o in optimizers for p in o.params], [g for o in optimizers for g in o.torch_gradients()],
        [m for o in optimizers for m in o.exp_avgs], [v for o in optimizers for v in o.exp_avg_sqs], [],
        [step for o in optimizers for step in o.steps],
        lr=first.lr, beta1=first.betas[0], beta2=first.betas[1], weight_decay=0.0, eps=first.eps,
        amsgrad=False, maximize=False,
    )


def _views(flat: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """Consecutive slices of `flat` shaped like `params`."""
    views, start = [], 0
    for p in params:
        views.append(flat[start:start + p.numel()].view(p.shape))
        start += p.numel()
    return views
