import numpy as np
import pytest
import torch

import zoo.optim
from zoo.errors import ZooError
from zoo.optim import ClippedAdam, ClippedRMSprop


def run(optimizer_factory, max_grad_norm, steps=15):
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(6, 4)), torch.nn.Parameter(torch.randn(4))]
    optimizer = optimizer_factory(params)
    gradients = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gradients) * 3.0
        if isinstance(optimizer, torch.optim.Optimizer):
            if max_grad_norm:
                torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
        else:
            optimizer.step()
    return [p.detach().clone() for p in params], optimizer


@pytest.mark.parametrize("max_grad_norm", [0.0, 0.5, 100.0])
@pytest.mark.parametrize("fused_kernel", [True, False])
def test_matches_torch_adam_with_clip_grad_norm(max_grad_norm, fused_kernel, monkeypatch):
    monkeypatch.setattr(zoo.optim, "_HAS_FUSED_KERNEL", fused_kernel and zoo.optim._HAS_FUSED_KERNEL)
    expected, _ = run(lambda ps: torch.optim.Adam(ps, lr=1e-2), max_grad_norm)
    ours, _ = run(lambda ps: ClippedAdam(ps, 1e-2, max_grad_norm), max_grad_norm)
    for a, b in zip(expected, ours):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_state_round_trips_and_a_fresh_optimizer_continues_identically():
    _, optimizer = run(lambda ps: ClippedAdam(ps, 1e-2, 1.0), 1.0)
    arrays = optimizer.state_arrays("opt")
    assert arrays["opt.0.step"] == 15 and arrays["opt.1.exp_avg"].shape == (4,)
    fresh = ClippedAdam([torch.nn.Parameter(p.detach().clone()) for p in optimizer.params], 1e-2, 1.0)
    fresh.load_state_arrays("opt", arrays)
    for name, value in fresh.state_arrays("opt").items():
        np.testing.assert_array_equal(value, arrays[name])


@pytest.mark.parametrize("learning_rates, max_grad_norm", [((1e-2, 1e-2, 1e-2), 0.0),  # one fused call
                                                           ((1e-2, 3e-3, 1e-2), 0.0),  # step sizes differ
                                                           ((1e-2, 1e-2, 1e-2), 0.5)])  # clipping
def test_stepping_together_is_stepping_each(learning_rates, max_grad_norm):
    """zoo.optim.step_together (SAC's three optimizers in one fused call where they can share it)
    leaves exactly what each optimizer's own step would: parameters, moments, step counts."""
    def optimizers():
        torch.manual_seed(0)
        shapes = [[(6, 4), (4,)], [(3, 5)], [()]]  # a critic, an actor, a temperature
        return [ClippedAdam([torch.nn.Parameter(torch.randn(shape)) for shape in group], lr, max_grad_norm)
                for group, lr in zip(shapes, learning_rates)]

    together, each = optimizers(), optimizers()
    gradients = torch.Generator().manual_seed(1)
    for _ in range(4):
        for joint, alone in zip(together, each):
            for joint_gradient, alone_gradient in zip(joint.torch_gradients(), alone.torch_gradients()):
                joint_gradient.copy_(torch.randn(joint_gradient.shape, generator=gradients))
                alone_gradient.copy_(joint_gradient)
        zoo.optim.step_together(together)
        for optimizer in each:
            optimizer.step(optimizer.torch_gradients())
    for index, (joint, alone) in enumerate(zip(together, each)):
        for parameter, expected in zip(joint.params, alone.params):
            torch.testing.assert_close(parameter, expected, rtol=0, atol=0)
        expected_state = alone.state_arrays(f"opt{index}")
        for name, value in joint.state_arrays(f"opt{index}").items():
            np.testing.assert_array_equal(value, expected_state[name], err_msg=name)
        assert float(joint.flat_steps[0]) == 4.0


@pytest.mark.parametrize("max_grad_norm", [0.0, 0.5])
def test_rmsprop_matches_torch_rmsprop_as_sb3s_a2c_builds_it(max_grad_norm):
    expected, _ = run(lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.99, eps=1e-5, weight_decay=0), max_grad_norm)
    ours, optimizer = run(lambda ps: ClippedRMSprop(ps, 1e-2, max_grad_norm, eps=1e-5), max_grad_norm)
    for a, b in zip(expected, ours):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    # its state round-trips, and a checkpoint's that does not fit or is no mean of squares is refused
    arrays = optimizer.state_arrays("opt")
    fresh = ClippedRMSprop([torch.nn.Parameter(p.detach().clone()) for p in optimizer.params], 1e-2, max_grad_norm)
    fresh.load_state_arrays("opt", arrays)
    for name, value in fresh.state_arrays("opt").items():
        np.testing.assert_array_equal(value, arrays[name])
    for key, bad in (("opt.1.square_avg", np.zeros(5, np.float32)), ("opt.0.square_avg", -np.ones((6, 4), np.float32)),
                     ("opt.0.square_avg", np.full((6, 4), np.nan, np.float32))):
        with pytest.raises(ZooError, match="optimizer state 'opt.[01].square_avg'"):
            fresh.load_state_arrays("opt", {**arrays, key: bad})
