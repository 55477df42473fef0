"""Vision DQN: DQN (double and dueling through config) learning from frames, its Q-network a
CNN backbone (zoo.backbones) with the DQN head on top:

    Q(s, .) = head(backbone(frames / 255))

Frames arrive as channel-first uint8 stacks from the image pipeline (zoo.vision), which the
config describes (`pixels`, `grayscale`, `resize`, `frame_stack`) so that training,
evaluation and enjoy build the same observations; the replay buffer keeps each frame once.

Batch norm (ResNet, DenseNet, LeNet with `batch_norm`) learns its statistics in the loss's
forward pass only: acting, the TD target and the target network use the running estimates,
and the target network copies them along with the weights.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from zoo.agents.dqn import DQNAgent, DQNConfig, QNetwork
from zoo.backbones import BACKBONES, BackboneName, BatchNorm, backbone_options, build_backbone
from zoo.contracts import ReplayStore
from zoo.errors import ZooError, did_you_mean
from zoo.replay_buffer import FrameReplayBuffer
from zoo.vision import ImagePipeline

# The layers whose forward differs between train() and eval(): only a network holding one has
# its mode switched for the loss's forward (a walk over every module, ~100 us of a LeNet update).
MODE_DEPENDENT = (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd, BatchNorm)
# Frames of at most this many pixels (MinAtar's 10x10, the cliff's 4x12) are acted on, one at a
# time, with torch's native convolutions instead of oneDNN's, whose per-call cost dominates at
# that size. Measured on one frame (2026-11-27, one thread, mkldnn/native): LeNet 181/71 us on
# 4x10x10, 132/69 on 3x4x12, 172/83 on 4x16x16; NiN, AlexNet and GoogLeNet 0.5-0.85x, ResNet,
# DenseNet and VGG 0.86-1.12x. Batches (the updates, evaluations) keep oneDNN: its backward and
# most backbones' batched forward are faster (NiN, GoogLeNet and DenseNet's 1.6-2.6x on 32 frames).
NATIVE_CONV_MAX_PIXELS = 256


@contextmanager
def native_convolutions() -> Iterator[None]:
    """oneDNN off for the block (the switch behind torch.backends.mkldnn.enabled: its flags()
    context manager costs ~8 us and warns about Intel GPUs at every call)."""
    enabled = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(False)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(enabled)


@dataclass
class VisionDQNConfig(DQNConfig):
    backbone: BackboneName = "lenet"  # the CNN under the Q head (zoo.backbones)
    backbone_options: dict[str, Any] = field(default_factory=dict)  # e.g. {width: 0.5, batch_norm: true}
    net_arch: list[int] = field(default_factory=list)  # hidden widths between features and Q-values
    pixels: bool = False  # observe the env's rgb_array render instead of its observations
    grayscale: bool = False  # RGB -> one channel
    resize: list[int] | None = None  # [height, width] of the frames the network sees
    frame_stack: int = 1  # frames per observation

    def __post_init__(self):
        super().__post_init__()
        valid = backbone_options(self.backbone)
        for option in self.backbone_options:
            if option not in valid:
                raise ValueError(f"backbone '{self.backbone}' has no option '{option}'."
                                 f"{did_you_mean(option, valid)} Its options: {', '.join(valid)}")
        if self.frame_stack < 1:
            raise ValueError(f"frame_stack must be at least 1, got {self.frame_stack}")
        if self.resize is not None and (len(self.resize) != 2 or min(self.resize) < 1):
            raise ValueError(f"resize must be [height, width], got {self.resize}")

    @staticmethod
    def follow_overrides(values: dict[str, Any], overrides: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """`--hp backbone=alexnet` over an entry written for LeNet: the entry's backbone_options
        that the new backbone does not take are dropped (width, which all take, stays), rather
        than failing on an option the user never typed. Options given with --hp are kept as typed."""
        if "backbone" not in overrides or "backbone_options" in overrides or not values.get("backbone_options"):
            return values, None
        name = values["backbone"]
        if not isinstance(name, str) or name not in BACKBONES or not isinstance(values["backbone_options"], dict):
            return values, None  # the config's own check says what is wrong
        valid = backbone_options(name)
        kept = {key: value for key, value in values["backbone_options"].items() if key in valid}
        dropped = sorted(set(values["backbone_options"]) - set(kept))
        if not dropped:
            return values, None
        note = f"{name} takes no {', '.join(dropped)}: dropped from backbone_options"
        return {**values, "backbone_options": kept}, note

    @property
    def image_pipeline(self) -> ImagePipeline:
        resize = None if self.resize is None else (self.resize[0], self.resize[1])
        return ImagePipeline(self.pixels, self.grayscale, resize, self.frame_stack)


class VisionQNetwork(nn.Module):
    def __init__(self, observation_shape: tuple[int, ...], n_actions: int, config: VisionDQNConfig):
        super().__init__()
        self.backbone = build_backbone(config.backbone, observation_shape, **config.backbone_options)
        self.head = QNetwork(self.backbone.out_features, n_actions, config)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(frames.float().div_(255.0)))


class VisionDQNAgent(DQNAgent):
    """DQN's acting and learning as they are; only the network, the replay buffer and the
    batch-norm bookkeeping differ."""

    algo = "vision_dqn"
    prefers_gpu = True  # CNNs: the one kind of network here that a GPU runs faster (zoo.devices)
    observation_dtype = np.uint8

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: VisionDQNConfig, **kwargs: Any):
        super().__init__(observation_space, action_space, config, **kwargs)
        self.q_network.eval()
        self.target_q_network.eval()
        self.q_buffers = list(self.q_network.buffers())
        self.target_buffers = list(self.target_q_network.buffers())
        self.frame_channels = self.observation_shape[0] // config.frame_stack
        self.switches_modes = any(isinstance(module, MODE_DEPENDENT) for module in self.q_network.modules())
        height, width = self.observation_shape[1:]
        on_cpu = self.device is None or torch.device(self.device).type == "cpu"
        self.acts_natively = on_cpu and height * width <= NATIVE_CONV_MAX_PIXELS

    def take_action(self, observation: Any, deterministic: bool = False) -> int:
        if not self.acts_natively:
            return super().take_action(observation, deterministic)
        with native_convolutions():
            return super().take_action(observation, deterministic)

    def check_observation_space(self, space: gym.Space) -> None:
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 3 or space.dtype != np.uint8:
            raise ZooError(f"vision_dqn takes channel-first uint8 frames, got {space}; its env goes through the "
                           "image pipeline of its hyperparameters (see zoo/vision.py).")

    def build_q_network(self) -> nn.Module:
        return VisionQNetwork(self.observation_shape, self.n_actions, self.config)

    def build_greedy_scores(self) -> None:
        return None  # a CNN stays in torch

    def make_replay_buffer(self, capacity: int, seed: int | None) -> ReplayStore:
        return FrameReplayBuffer(capacity, self.observation_shape, self.frame_channels, seed=seed)

    def online_q_values(self, observations: torch.Tensor) -> torch.Tensor:
        # Batch norm learns its statistics here only: acting and the TD target (computed
        # before this) use the running estimates. Dropout drops here only.
        if not self.switches_modes:
            return self.q_network(observations)
        self.q_network.train()
        try:
            return self.q_network(observations)
        finally:
            self.q_network.eval()

    def update_target(self) -> None:
        super().update_target()
        with torch.no_grad():  # batch-norm running statistics (and counters) follow the weights
            for target, online in zip(self.target_buffers, self.q_buffers):
                if target.is_floating_point() and self.config.tau < 1.0:
                    target.lerp_(online, self.config.tau)
                else:
                    target.copy_(online)
