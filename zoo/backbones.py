"""CNN backbones from the seed notes' deep-learning chapters, built from their blocks.

Each backbone maps images [N, C, H, W] to features [N, out_features] for a head to sit on:
a classifier's `nn.Linear(out_features, n_classes)` or a Q-network's action-value head.

    lenet      two conv + avg-pool blocks, then dense 120 -> 84 (sigmoid; `batch_norm` adds
               the from-scratch BatchNorm after every conv and dense layer, as in the notes)
    alexnet    five convs (11x11 stride 4, 5x5, three 3x3), three max pools, dense 4096 x 2
    vgg        `conv_arch` vgg blocks ((n_convs, channels) each, VGG-11 by default), dense 4096 x 2
    nin        nin blocks (a conv, then two 1x1 convs) between max pools, global average pool
    googlenet  a 7x7 stem, then nine Inception blocks in three stages, global average pool
    resnet     a 7x7 stem with batch norm, Residual blocks (`blocks` per stage, ResNet-18 by default)
    densenet   a 7x7 stem, dense blocks (`growth_rate`, `convs_per_block`) with transition blocks

All take `in_channels`, a `width` multiplier for every channel count and hidden width, and
the input size. The canonical layouts are for large inputs (28x28 LeNet, 96-224 for the
rest); on small frames (MinAtar's 10x10) the large strided stems become a 3x3 stride-1
conv and any downsampling that would shrink a map below 3x3 is left out, so every backbone
runs on 10x10, 84x84 and 224x224 alike. `out_features` is followed through the layers at build
time (zoo.backbones.output_shape): a head never has to guess.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ZooError, brief, did_you_mean
from zoo.networks import ACTIVATIONS

BackboneName = Literal["lenet", "alexnet", "vgg", "nin", "googlenet", "resnet", "densenet"]
SMALL_INPUT = 32  # below this many pixels a side, large-image stems are replaced (see module doc)
MIN_MAP = 3  # downsampling that would leave a smaller feature map than this is skipped
VGG11 = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
RESNET18 = (2, 2, 2, 2)


class BatchNorm(nn.Module):
    """Batch normalisation from scratch, for [N, C] (after dense layers) and [N, C, H, W]
    (per channel, after convs), with torch.nn.BatchNorm's conventions so the two agree:

    training: normalise by the batch mean and biased variance; update the running estimates
              running = (1 - momentum) * running + momentum * batch (unbiased variance)
    eval:     normalise by the running estimates.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))  # gamma
        self.bias = nn.Parameter(torch.zeros(num_features))  # beta
        self.running_mean: torch.Tensor
        self.running_var: torch.Tensor
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (2, 4):
            raise ValueError(f"BatchNorm takes [N, C] or [N, C, H, W] inputs, got shape {tuple(x.shape)}")
        reduce = (0,) if x.dim() == 2 else (0, 2, 3)
        shape = (1, -1) if x.dim() == 2 else (1, -1, 1, 1)
        if self.training:
            mean = x.mean(dim=reduce)
            var = x.var(dim=reduce, unbiased=False)
            n = x.numel() // x.shape[1]
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * n / max(n - 1, 1), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        return self.weight.view(shape) * x_hat + self.bias.view(shape)


# -- blocks (the notes' building blocks) ------------------------------------------------


def vgg_block(n_convs: int, in_channels: int, out_channels: int) -> list[nn.Module]:
    """n 3x3 convs with ReLU; the 2x2 max pool that closes a VGG block is added by the caller."""
    layers: list[nn.Module] = []
    for _ in range(n_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    return layers


def nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int) -> nn.Sequential:
    """A conv, then two 1x1 convs: an MLP applied at every pixel."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )


class Inception(nn.Module):
    """Four parallel paths: 1x1; 1x1 -> 3x3; 1x1 -> 5x5; 3x3 max pool -> 1x1; concatenated."""

    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int], c4: int):
        super().__init__()
        self.p1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
        self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)
        self.out_channels = c1 + c2[1] + c3[1] + c4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p1 = F.relu(self.p1(x))
        p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
        p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
        p4 = F.relu(self.p4_2(self.p4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)


class Residual(nn.Module):
    """conv-BN-ReLU-conv-BN plus the input (through a 1x1 conv when the shape changes), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.shortcut = (nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)
                         if stride != 1 or in_channels != out_channels else None)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


def dense_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """DenseNet's pre-activation unit: BN, ReLU, 3x3 conv."""
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))


class DenseBlock(nn.Module):
    """Each unit sees the concatenation of the block's input and every earlier unit's output."""

    def __init__(self, n_convs: int, in_channels: int, growth_rate: int):
        super().__init__()
        self.units = nn.ModuleList(dense_conv(in_channels + i * growth_rate, growth_rate) for i in range(n_convs))
        self.in_channels, self.out_channels = in_channels, in_channels + n_convs * growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for unit in self.units:
            x = torch.cat((x, unit(x)), dim=1)
        return x


def transition_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    """BN, ReLU, 1x1 conv to fewer channels; the 2x2 average pool is added by the caller."""
    return [nn.BatchNorm2d(in_channels), nn.ReLU(), nn.Conv2d(in_channels, out_channels, kernel_size=1)]


# -- building with the feature-map size in view -------------------------------------------

Shape = tuple[int, ...]  # one image's, without the batch: (C, H, W), or (features,) after Flatten
# Layers that leave any shape as it is
_SHAPE_KEEPING = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Dropout)


def _window(side: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """A conv's or pool's output side (floor mode), PyTorch's formula; < 1 where the input is
    smaller than the window."""
    return (side + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _along(value: Any, axis: int) -> int:
    """A pool's or conv's setting for one axis (0: height, 1: width): an int holds for both."""
    return int(value[axis]) if isinstance(value, tuple) else int(value)


def output_shape(layer: nn.Module, shape: Shape) -> Shape | None:
    """What `layer` makes of one image of `shape`, by arithmetic, for the layers the backbones
    use; None for others (the caller then runs a probe through it). Why not always a probe: the
    dry build on torch's meta device (zoo.build) runs it on meta tensors, whose convolution
    imports torch's symbolic shapes and sympy (1.8-2.4 s of a vision agent's build here)."""
    if isinstance(layer, _SHAPE_KEEPING):
        return shape
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d, BatchNorm)):
        features = layer.weight.shape[0]
        return shape if shape[0] == features and len(shape) in (1, 3) else None
    if isinstance(layer, nn.Sequential):
        for inner in layer:
            shape_or_none = output_shape(inner, shape)
            if shape_or_none is None:
                return None
            shape = shape_or_none
        return shape
    if isinstance(layer, nn.Flatten) and layer.start_dim == 1 and layer.end_dim == -1:
        return (math.prod(shape),)
    if isinstance(layer, nn.Linear) and shape == (layer.in_features,):
        return (layer.out_features,)
    if len(shape) != 3:
        return None
    channels, height, width = shape
    if isinstance(layer, nn.Conv2d) and layer.groups == 1 and isinstance(layer.padding, tuple) \
            and layer.padding_mode == "zeros" and channels == layer.in_channels:
        sides = [_window(side, *(_along(setting, axis) for setting in (layer.kernel_size, layer.stride,
                                                                         layer.padding, layer.dilation)))
                 for axis, side in enumerate((height, width))]
        return (layer.out_channels, *sides) if min(sides) >= 1 else _too_small(layer, shape)
    if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)) and not layer.ceil_mode:
        dilation = layer.dilation if isinstance(layer, nn.MaxPool2d) else 1
        sides = [_window(side, *(_along(setting, axis) for setting in (layer.kernel_size, layer.stride,
                                                                         layer.padding, dilation)))
                 for axis, side in enumerate((height, width))]
        return (channels, *sides) if min(sides) >= 1 else _too_small(layer, shape)
    if isinstance(layer, nn.AdaptiveAvgPool2d) and layer.output_size == (1, 1):
        return (channels, 1, 1)
    if isinstance(layer, Inception) and channels == layer.p1.in_channels:
        return (layer.out_channels, height, width)  # every path keeps the map's size
    if isinstance(layer, DenseBlock) and channels == layer.in_channels:
        return (layer.out_channels, height, width)
    if isinstance(layer, Residual) and channels == layer.conv1.in_channels:
        return output_shape(layer.conv1, shape)  # conv2 and the shortcut keep conv1's map
    return None


def _too_small(layer: nn.Module, shape: Shape) -> Shape:
    raise RuntimeError(f"a {type(layer).__name__} cannot take a {shape[1]}x{shape[2]} map")


class _Stack:
    """Appends layers while following the feature-map size through them, so each choice (keep
    this pool? how wide is the flattened map?) is made on the real size."""

    def __init__(self, in_channels: int, input_size: tuple[int, int]):
        self.layers: list[nn.Module] = []
        self.shape: Shape = (in_channels, *input_size)
        self.small = min(input_size) < SMALL_INPUT

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def side(self) -> int:
        return min(self.shape[1:]) if len(self.shape) == 3 else 0

    @property
    def features(self) -> int:
        return math.prod(self.shape)

    def after(self, layer: nn.Module) -> Shape:
        """The shape `layer` makes of the current one: by arithmetic where output_shape knows the
        layer, else by running a dummy image through it (in eval mode: batch norm cannot take a
        batch of one in training mode, and must not update its statistics)."""
        shape = output_shape(layer, self.shape)
        if shape is not None:
            return shape
        was_training = layer.training
        layer.eval()
        with torch.no_grad():
            shape = tuple(layer(torch.zeros(1, *self.shape)).shape[1:])
        layer.train(was_training)
        return shape

    def add(self, *layers: nn.Module) -> _Stack:
        for layer in layers:
            self.shape = self.after(layer)
            self.layers.append(layer)
        return self

    def downsample(self, layer: nn.Module) -> _Stack:
        """A pooling layer, kept only while it leaves at least a MIN_MAP x MIN_MAP map."""
        try:
            out_side = min(self.after(layer)[1:])
        except RuntimeError:  # the map is already smaller than the pooling window
            return self
        return self.add(layer) if out_side >= MIN_MAP else self

    def stride(self, stride: int) -> int:
        """The stride a strided conv may use here: 1 where stride s would shrink below MIN_MAP."""
        return stride if self.side // stride >= MIN_MAP else 1

    def large_stem(self, conv: nn.Conv2d, small_out: int) -> _Stack:
        """The canonical big-kernel strided stem; on small frames a 3x3 stride-1 conv instead."""
        if self.small:
            return self.add(nn.Conv2d(self.channels, small_out, kernel_size=3, padding=1))
        return self.add(conv)


class Backbone(nn.Module):
    """Images [N, C, H, W] -> features [N, out_features]."""

    def __init__(self, name: str, layers: list[nn.Module], out_features: int, input_shape: tuple[int, int, int]):
        super().__init__()
        self.name = name
        self.net = nn.Sequential(*layers)
        self.out_features = out_features
        self.input_shape = input_shape

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


def _finish(name: str, stack: _Stack, in_channels: int, input_size: tuple[int, int]) -> Backbone:
    return Backbone(name, stack.layers, stack.features, (in_channels, *input_size))


def _scale(channels: int, width: float) -> int:
    return max(1, round(channels * width))


# -- the backbones -----------------------------------------------------------------------


def lenet(in_channels: int, input_size: tuple[int, int], width: float = 1.0, batch_norm: bool = False,
          activation: str = "sigmoid") -> Backbone:
    """`activation`: the notes' sigmoid by default; relu learns much faster as a Q-network."""
    c1, c2, h1, h2 = (_scale(c, width) for c in (6, 16, 120, 84))
    s = _Stack(in_channels, input_size)
    if activation not in ACTIVATIONS and activation != "sigmoid":
        raise ValueError(f"unknown activation {activation!r}; choose from sigmoid, {', '.join(ACTIVATIONS)}")
    act = nn.Sigmoid if activation == "sigmoid" else ACTIVATIONS[activation]

    def norm(n: int) -> list[nn.Module]:
        return [BatchNorm(n)] if batch_norm else []

    s.add(nn.Conv2d(in_channels, c1, kernel_size=5, padding=2), *norm(c1), act())
    s.downsample(nn.AvgPool2d(kernel_size=2, stride=2))
    s.add(nn.Conv2d(c1, c2, kernel_size=5 if s.side >= 5 else 3, padding=0 if s.side >= 5 else 1), *norm(c2), act())
    s.downsample(nn.AvgPool2d(kernel_size=2, stride=2))
    s.add(nn.Flatten())
    s.add(nn.Linear(s.features, h1), *norm(h1), act(), nn.Linear(h1, h2), *norm(h2), act())
    return _finish("lenet", s, in_channels, input_size)


def alexnet(in_channels: int, input_size: tuple[int, int], width: float = 1.0, dropout: float = 0.5) -> Backbone:
    c1, c2, c3, hidden = (_scale(c, width) for c in (96, 256, 384, 4096))
    s = _Stack(in_channels, input_size)
    s.large_stem(nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=1), c1).add(nn.ReLU())
    s.downsample(nn.MaxPool2d(kernel_size=3, stride=2))
    s.add(nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU())
    s.downsample(nn.MaxPool2d(kernel_size=3, stride=2))
    s.add(nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(),
          nn.Conv2d(c3, c3, kernel_size=3, padding=1), nn.ReLU(),
          nn.Conv2d(c3, c2, kernel_size=3, padding=1), nn.ReLU())
    s.downsample(nn.MaxPool2d(kernel_size=3, stride=2))
    s.add(nn.Flatten())
    s.add(nn.Linear(s.features, hidden), nn.ReLU(), nn.Dropout(dropout),
          nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout))
    return _finish("alexnet", s, in_channels, input_size)


def vgg(in_channels: int, input_size: tuple[int, int], width: float = 1.0,
        conv_arch: list[list[int]] | None = None, dropout: float = 0.5) -> Backbone:
    """`conv_arch`: (convs, channels) per block; VGG-11 by default. VGG-16 is
    [[2, 64], [2, 128], [3, 256], [3, 512], [3, 512]]."""
    s = _Stack(in_channels, input_size)
    channels = in_channels
    for n_convs, out_channels in conv_arch or VGG11:
        out_channels = _scale(out_channels, width)
        s.add(*vgg_block(n_convs, channels, out_channels))
        s.downsample(nn.MaxPool2d(kernel_size=2, stride=2))
        channels = out_channels
    hidden = _scale(4096, width)
    s.add(nn.Flatten())
    s.add(nn.Linear(s.features, hidden), nn.ReLU(), nn.Dropout(dropout),
          nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout))
    return _finish("vgg", s, in_channels, input_size)


def nin(in_channels: int, input_size: tuple[int, int], width: float = 1.0, out_channels: int | None = None,
        dropout: float = 0.5) -> Backbone:
    """`out_channels` of the last nin block (the features after global average pooling);
    the notes' classifier sets it to the number of classes and needs no dense head."""
    c1, c2, c3 = (_scale(c, width) for c in (96, 256, 384))
    s = _Stack(in_channels, input_size)
    if s.small:
        s.add(nin_block(in_channels, c1, kernel_size=3, stride=1, padding=1))
    else:
        s.add(nin_block(in_channels, c1, kernel_size=11, stride=4, padding=0))
    s.downsample(nn.MaxPool2d(3, stride=2))
    s.add(nin_block(c1, c2, kernel_size=5, stride=1, padding=2))
    s.downsample(nn.MaxPool2d(3, stride=2))
    s.add(nin_block(c2, c3, kernel_size=3, stride=1, padding=1))
    s.downsample(nn.MaxPool2d(3, stride=2))
    s.add(nn.Dropout(dropout), nin_block(c3, out_channels or c3, kernel_size=3, stride=1, padding=1),
          nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return _finish("nin", s, in_channels, input_size)


# (c1, (c2 reduce, c2), (c3 reduce, c3), c4) of GoogLeNet's nine Inception blocks, by stage
INCEPTION_STAGES = (
    ((64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64)),
    ((192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64), (128, (128, 256), (24, 64), 64),
     (112, (144, 288), (32, 64), 64), (256, (160, 320), (32, 128), 128)),
    ((256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128)),
)


def googlenet(in_channels: int, input_size: tuple[int, int], width: float = 1.0) -> Backbone:
    def w(c: int) -> int:
        return _scale(c, width)

    s = _Stack(in_channels, input_size)
    s.large_stem(nn.Conv2d(in_channels, w(64), kernel_size=7, stride=2, padding=3), w(64)).add(nn.ReLU())
    if not s.small:
        s.downsample(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    s.add(nn.Conv2d(w(64), w(64), kernel_size=1), nn.ReLU(), nn.Conv2d(w(64), w(192), kernel_size=3, padding=1),
          nn.ReLU())
    s.downsample(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    for i, stage in enumerate(INCEPTION_STAGES):
        for c1, (c2r, c2), (c3r, c3), c4 in stage:
            s.add(Inception(s.channels, w(c1), (w(c2r), w(c2)), (w(c3r), w(c3)), w(c4)))
        if i < len(INCEPTION_STAGES) - 1:
            s.downsample(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    s.add(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return _finish("googlenet", s, in_channels, input_size)


def _batch_norm_stem(s: _Stack, in_channels: int, channels: int) -> None:
    """ResNet's and DenseNet's first module: 7x7 stride-2 conv, BN, ReLU, 3x3 stride-2 max pool."""
    s.large_stem(nn.Conv2d(in_channels, channels, kernel_size=7, stride=2, padding=3), channels)
    s.add(nn.BatchNorm2d(channels), nn.ReLU())
    if not s.small:
        s.downsample(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


def resnet(in_channels: int, input_size: tuple[int, int], width: float = 1.0,
           blocks: list[int] | None = None) -> Backbone:
    """`blocks`: Residual blocks per stage (64, 128, 256, 512 channels); ResNet-18 by default,
    ResNet-34 is [3, 4, 6, 3]. Every stage after the first halves the map with a stride-2 block."""
    s = _Stack(in_channels, input_size)
    channels = _scale(64, width)
    _batch_norm_stem(s, in_channels, channels)
    for stage, n_blocks in enumerate(blocks or RESNET18):
        out_channels = _scale(64 * 2 ** stage, width)
        for i in range(n_blocks):
            s.add(Residual(channels, out_channels, stride=s.stride(2) if i == 0 and stage > 0 else 1))
            channels = out_channels
    s.add(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return _finish("resnet", s, in_channels, input_size)


def densenet(in_channels: int, input_size: tuple[int, int], width: float = 1.0, growth_rate: int = 32,
             convs_per_block: list[int] | None = None) -> Backbone:
    """Dense blocks of `convs_per_block` units each (d2l's [4, 4, 4, 4] by default) joined by
    transition blocks that halve channels and map size, then BN, ReLU, global average pool."""
    s = _Stack(in_channels, input_size)
    channels = _scale(64, width)
    growth = _scale(growth_rate, width)
    _batch_norm_stem(s, in_channels, channels)
    per_block = convs_per_block or [4, 4, 4, 4]
    for i, n_convs in enumerate(per_block):
        block = DenseBlock(n_convs, channels, growth)
        s.add(block)
        channels = block.out_channels
        if i < len(per_block) - 1:
            channels //= 2
            s.add(*transition_block(block.out_channels, channels))
            s.downsample(nn.AvgPool2d(kernel_size=2, stride=2))
    s.add(nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return _finish("densenet", s, in_channels, input_size)


BACKBONES: dict[str, Callable[..., Backbone]] = {
    "lenet": lenet, "alexnet": alexnet, "vgg": vgg, "nin": nin,
    "googlenet": googlenet, "resnet": resnet, "densenet": densenet,
}


def backbone_options(name: str) -> list[str]:
    """The keyword options a backbone takes beyond in_channels and input_size."""
    parameters = inspect.signature(BACKBONES[name]).parameters
    return [p for p in parameters if p not in ("in_channels", "input_size")]


def _check_option(name: str, option: str, value: Any) -> None:
    """Sizes and rates in range before anything is built: `width: -1` would make empty layers,
    a NaN dropout a network that outputs NaN."""
    def refuse(requirement: str) -> ZooError:
        return ZooError(f"Backbone '{name}': option '{option}' must be {requirement}, got {brief(value)}.")

    if isinstance(value, bool):
        return
    if option == "width":
        if not isinstance(value, (int, float)) or not 0 < value <= 16:
            raise refuse("a number in (0, 16] (a multiplier of every channel count)")
    elif option == "dropout":
        if not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise refuse("a probability in [0, 1)")
    elif isinstance(value, float) and not math.isfinite(value):
        raise refuse("a finite number")
    integers = [value] if isinstance(value, int) else value if isinstance(value, (list, tuple)) else []
    flat = [item for entry in integers for item in (entry if isinstance(entry, (list, tuple)) else [entry])]
    if any(isinstance(item, int) and not isinstance(item, bool) and not 1 <= item <= 65_536 for item in flat):
        raise refuse("made of whole numbers from 1 to 65536")


def build_backbone(name: str, input_shape: tuple[int, ...], **options) -> Backbone:
    """A backbone for images of `input_shape` (C, H, W); unknown names and options are
    errors that list the valid ones."""
    if name not in BACKBONES:
        raise ZooError(f"Unknown backbone '{name}'.{did_you_mean(name, BACKBONES)} "
                       f"Available: {', '.join(BACKBONES)}.")
    valid = backbone_options(name)
    for option in options:
        if option not in valid:
            raise ZooError(f"Backbone '{name}' has no option '{option}'.{did_you_mean(option, valid)} "
                           f"Its options: {', '.join(valid)}.")
    for option, value in options.items():
        _check_option(name, option, value)
    if len(input_shape) != 3:
        raise ZooError(f"Backbones take images shaped (channels, height, width), got {tuple(input_shape)}.")
    channels, height, width = (int(d) for d in input_shape)
    try:
        return BACKBONES[name](channels, (height, width), **options)
    except (RuntimeError, ValueError, TypeError) as error:
        raise ZooError(f"Backbone '{name}' cannot be built for {tuple(input_shape)} with {options}: {error}") from None


def classifier(name: str, input_shape: tuple[int, ...], n_classes: int, **options) -> nn.Sequential:
    """The notes' image classifier: backbone + linear head (NiN: its last block has one
    channel per class and needs no head)."""
    if name == "nin":
        return nn.Sequential(build_backbone(name, input_shape, out_channels=n_classes, **options))
    backbone = build_backbone(name, input_shape, **options)
    return nn.Sequential(backbone, nn.Linear(backbone.out_features, n_classes))
