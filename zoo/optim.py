"""Adam with gradient-norm clipping, as one lean step on PyTorch's fused kernel (CPU or CUDA).

`torch.optim.Adam(fused=True)` spends ~60 us of Python around a ~10 us kernel on every step,
and `clip_grad_norm_` plus `zero_grad` another ~50 us; for the small networks of RL, whose
updates are mostly such overhead, that was ~10% of DQN's training time (measured on this
CPU). This class keeps the same state and arithmetic (the results are identical to
`torch.optim.Adam`, tested) and calls the kernel directly. Where the kernel is missing
(another PyTorch build) it falls back to `torch.optim.Adam`.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo.errors import ZooError

_HAS_FUSED_KERNEL = hasattr(torch, "_fused_adam_")


class ClippedAdam:
    def __init__(self, params, lr: float, max_grad_norm: float = 0.0, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        self.lr, self.max_grad_norm, self.betas, self.eps = float(lr), float(max_grad_norm), betas, eps
        # torch.zeros, not zeros_like: on the meta device (zoo.build's dry build) *_like imports
        # torch's symbolic-shapes machinery and sympy, 0.7 s of every `zoo train` start-up
        self.exp_avgs = [torch.zeros(p.shape, dtype=p.dtype, device=p.device) for p in self.params]
        self.exp_avg_sqs = [torch.zeros(p.shape, dtype=p.dtype, device=p.device) for p in self.params]
        # the fused kernels take each step count on its parameter's device (CPU and CUDA alike)
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]
        self._fallback = None if _HAS_FUSED_KERNEL else torch.optim.Adam(self.params, lr=lr, betas=betas, eps=eps)

    def set_learning_rate(self, lr: float) -> None:
        """A schedule's value for the next steps (PPO's `lin_3e-4`)."""
        self.lr = float(lr)
        if self._fallback is not None:
            for group in self._fallback.param_groups:
                group["lr"] = self.lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        grads = [p.grad for p in self.params]
        if self.max_grad_norm > 0:
            # clip_grad_norm_'s arithmetic: scale by max_norm / (norm + 1e-6) when that is below 1
            total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            torch._foreach_mul_(grads, torch.clamp(self.max_grad_norm / (total_norm + 1e-6), max=1.0))
        if self._fallback is not None:
            self._fallback.step()
            return
        torch._foreach_add_(self.steps, 1)
        torch._fused_adam_(
            self.params, grads, self.exp_avgs, self.exp_avg_sqs, [], self.steps,
            lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=0.0, eps=self.eps,
            amsgrad=False, maximize=False,
        )

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

