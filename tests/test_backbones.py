"""CNN backbones: canonical shapes and parameter counts, any input size, the from-scratch BatchNorm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo.backbones import BACKBONES, BatchNorm, build_backbone, classifier
from zoo.errors import ZooError


def n_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# Counts of the reference (d2l / seed-notes) architectures at their canonical inputs with
# 10 classes, from flat nn.Sequential definitions written independently of zoo.backbones
# (LeNet's 61,706 is also the count d2l prints).
CANONICAL = [
    ("lenet", (1, 28, 28), 61_706),
    ("alexnet", (1, 224, 224), 46_764_746),
    ("vgg", (1, 224, 224), 128_806_154),  # VGG-11
    ("nin", (1, 224, 224), 1_992_166),
    ("googlenet", (1, 96, 96), 5_977_530),
    ("resnet", (1, 224, 224), 11_178_378),  # ResNet-18 (convs with biases, as in the notes)
    ("densenet", (1, 96, 96), 758_226),
]


@pytest.mark.parametrize("name, input_shape, expected", CANONICAL, ids=[c[0] for c in CANONICAL])
def test_canonical_configurations_match_the_reference_architectures(name, input_shape, expected):
    torch.manual_seed(0)
    net = classifier(name, input_shape, n_classes=10).eval()
    assert n_parameters(net) == expected
    with torch.no_grad():
        assert net(torch.randn(2, *input_shape)).shape == (2, 10)


def test_reference_feature_map_sizes():
    # The flattened map before the dense layers: AlexNet 256x5x5, VGG-11 512x7x7, LeNet 16x5x5.
    first_linear = {name: next(m for m in build_backbone(name, shape).modules() if isinstance(m, nn.Linear))
                    for name, shape in (("alexnet", (1, 224, 224)), ("vgg", (1, 224, 224)), ("lenet", (1, 28, 28)))}
    assert first_linear["alexnet"].in_features == 6400
    assert first_linear["vgg"].in_features == 512 * 7 * 7
    assert first_linear["lenet"].in_features == 400


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("input_shape", [(4, 10, 10), (4, 84, 84), (3, 16, 48)], ids=["minatar", "atari", "cliff"])
def test_every_backbone_runs_on_small_and_large_frames(name, input_shape):
    backbone = build_backbone(name, input_shape, width=0.125)
    features = backbone(torch.rand(3, *input_shape))  # training mode: batch norm on a real batch
    assert features.shape == (3, backbone.out_features)
    assert torch.isfinite(features).all()
    head = nn.Linear(backbone.out_features, 5)  # attaches without guessing
    assert head(features).shape == (3, 5)


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("input_shape", [(4, 10, 10), (2, 7, 12), (3, 33, 45), (1, 96, 96)])
def test_the_shapes_followed_by_arithmetic_are_the_layers_own(name, input_shape):
    # Each layer's output as output_shape computes it (what the build and the meta dry build
    # follow), against the layer run on a real image; no layer is left to a probe.
    from zoo.backbones import output_shape

    options = {"batch_norm": True} if name == "lenet" else {}
    backbone = build_backbone(name, input_shape, width=0.125, **options).eval()
    x = torch.zeros(1, *input_shape)
    with torch.no_grad():
        for layer in backbone.net:
            computed = output_shape(layer, tuple(x.shape[1:]))
            x = layer(x)
            assert computed == tuple(x.shape[1:]), layer
    assert x.shape[1] == backbone.out_features


def test_a_layer_the_arithmetic_does_not_know_is_probed():
    from zoo.backbones import _Stack, output_shape

    same = nn.Conv2d(3, 5, kernel_size=3, padding="same")  # a padding given by name
    assert output_shape(same, (3, 9, 11)) is None
    stack = _Stack(3, (9, 11)).add(same, nn.LocalResponseNorm(2), nn.MaxPool2d(2))
    assert stack.shape == (5, 4, 5) and same.training  # probed in eval mode, left as it was
    assert _Stack(3, (2, 2)).downsample(nn.MaxPool2d(3)).layers == []  # a window larger than the map


def test_building_a_vision_agent_imports_no_symbolic_shapes(tmp_path):
    # The meta-device dry build (zoo.build) once ran a probe image through meta convolutions,
    # whose shape checks import torch's symbolic shapes and sympy: 1.8-2.4 s of every vision
    # agent's start here (measured 2026-11-28), now 0.02 s.
    from conftest import run_python

    result = run_python(
        "import sys\n"
        "from zoo.build import build_agent, describe_env\n"
        "from zoo.config import resolve_hyperparams\n"
        "from zoo.registry import get_algo\n"
        "spec = get_algo('vision_dqn')\n"
        "for backbone in ('lenet', 'resnet', 'googlenet', 'densenet'):\n"
        "    resolved = resolve_hyperparams(spec, 'CliffWalking4x12-v0', {'backbone': backbone}, None)\n"
        "    env = describe_env(spec, 'CliffWalking4x12-v0', resolved.env_kwargs, resolved.env_wrappers,\n"
        "                       resolved.config)\n"
        "    made = env.make()\n"
        "    build_agent(spec, made.observation_space, made.action_space, resolved.config, env, seed=0)\n"
        "print(sorted(m for m in ('sympy', 'torch.fx.experimental.symbolic_shapes') if m in sys.modules))\n",
        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_width_multiplier_shrinks_the_network():
    full = n_parameters(build_backbone("resnet", (4, 10, 10)))
    quarter = n_parameters(build_backbone("resnet", (4, 10, 10), width=0.25))
    assert quarter < full / 10


def test_vgg_takes_a_conv_arch():
    vgg16 = [[2, 64], [2, 128], [3, 256], [3, 512], [3, 512]]
    convs = [m for m in build_backbone("vgg", (3, 32, 32), conv_arch=vgg16, width=0.25).modules()
             if isinstance(m, nn.Conv2d)]
    assert len(convs) == 13


def test_bad_names_and_options_get_one_clear_error():
    with pytest.raises(ZooError, match="Did you mean: resnet"):
        build_backbone("resnett", (1, 10, 10))
    with pytest.raises(ZooError, match="no option 'widht'.*Did you mean: width"):
        build_backbone("resnet", (1, 10, 10), widht=0.5)
    with pytest.raises(ZooError, match="channels, height, width"):
        build_backbone("lenet", (10, 10))


@pytest.mark.parametrize("shape", [(16, 5), (8, 3, 6, 7)], ids=["1d", "2d"])
def test_batch_norm_from_scratch_equals_torch(shape):
    torch.manual_seed(0)
    channels = shape[1]
    ours = BatchNorm(channels)
    reference = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(channels)
    with torch.no_grad():
        for layer in (ours, reference):
            layer.weight.copy_(torch.linspace(0.5, 1.5, channels))
            layer.bias.copy_(torch.linspace(-1, 1, channels))
    for _ in range(3):  # training mode: batch statistics, running estimates updated
        x = torch.randn(shape) * 3 + 2
        torch.testing.assert_close(ours(x), reference(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.running_mean, reference.running_mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.running_var, reference.running_var, atol=1e-5, rtol=1e-5)
    ours.eval()
    reference.eval()
    x = torch.randn(shape)
    torch.testing.assert_close(ours(x), reference(x), atol=1e-5, rtol=1e-5)

    x = torch.randn(shape, requires_grad=True)  # and the gradients, in training mode
    ours.train()
    reference.train()
    grad_ours, = torch.autograd.grad(ours(x).square().sum(), x)
    grad_reference, = torch.autograd.grad(reference(x).square().sum(), x)
    torch.testing.assert_close(grad_ours, grad_reference, atol=1e-5, rtol=1e-4)


def test_lenet_with_batch_norm_uses_the_from_scratch_layer():
    net = build_backbone("lenet", (1, 28, 28), batch_norm=True)
    assert sum(isinstance(m, BatchNorm) for m in net.modules()) == 4
