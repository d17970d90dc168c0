"""Shared backbone building blocks: ConvBNAct, classifier head, feature metadata, the Backbone base class.

Feature numbering used by every backbone here (timm's for ResNet-like nets): out index ``i`` is the feature map at
stride ``2 ** (i + 1)`` -- 0 = stem output (stride 2), 1..4 = stages at strides 4, 8, 16, 32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

NUM_LEVELS = 5  # out indices 0..4 -> strides 2, 4, 8, 16, 32


def level_stride(index: int) -> int:
    """Stride (pixels of input per feature cell) of out index ``index``: ``2 ** (index + 1)``."""
    return 2 ** (index + 1)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a (scaled) channel count to the nearest multiple of ``divisor``, never going below 90% of ``value``."""
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def make_act(name: str, inplace: bool = True) -> nn.Module:
    """Activation module by name: ``leaky_relu`` (slope 0.01, as timm), ``leaky`` (slope 0.1, as darknet and the
    YOLOv4 neck), ``relu``, ``silu``, ``mish`` or ``identity``."""
    acts = {
        "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=inplace),
        "leaky": lambda: nn.LeakyReLU(0.1, inplace=inplace),
        "relu": lambda: nn.ReLU(inplace=inplace),
        "silu": lambda: nn.SiLU(inplace=inplace),
        "mish": lambda: nn.Mish(inplace=inplace),
        "identity": nn.Identity,
    }
    if name not in acts:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(acts)}")
    return acts[name]()


class ConvBNAct(nn.Module):
    """Conv2d (no bias, 'same'-style padding ``k // 2``) + BatchNorm2d (``eps=bn_eps``, ``momentum=bn_momentum``) +
    activation (:func:`make_act` name). ``[B, in_chs, H, W] -> [B, out_chs, H / stride, W / stride]``.

    State-dict keys are ``conv.weight`` and ``bn.*`` (the same as timm's ``ConvNormAct``). The defaults are timm's
    (LeakyReLU 0.01, eps 1e-5, momentum 0.1); the detector's neck and head use ``detector.model.layers.ConvBNAct``, this
    block with the YOLO defaults.
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 1,
        stride: int = 1,
        groups: int = 1,
        act: str = "leaky_relu",
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        if in_chs % groups or out_chs % groups:
            raise ValueError(f"ConvBNAct: channels {in_chs}->{out_chs} are not divisible by groups={groups}")
        self.conv = nn.Conv2d(in_chs, out_chs, kernel_size, stride, padding=kernel_size // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_chs, eps=bn_eps, momentum=bn_momentum)
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class ClassifierHead(nn.Module):
    """Global average pool + linear classifier: ``[B, C, H, W] -> [B, num_classes]`` logits (keys ``fc.*``)."""

    def __init__(self, in_chs: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_chs, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(x.mean((2, 3)), 1))


@dataclass(frozen=True)
class FeatureInfo:
    """One tappable feature map: channels, stride (``reduction``, pixels) and the module that produces it."""

    num_chs: int
    reduction: int
    module: str


def check_out_indices(name: str, out_indices: tuple[int, ...] | list[int], available: list[int]) -> tuple[int, ...]:
    """Validate ``out_indices`` (sorted, unique, each one available); returns them as a tuple."""
    idx = tuple(int(i) for i in out_indices)
    if not idx:
        raise ValueError(f"{name}: out_indices is empty; pass e.g. (2, 3, 4) for strides 8, 16, 32")
    bad = [i for i in idx if i not in available]
    if bad:
        raise ValueError(
            f"{name}: out_indices {bad} not available; valid indices are {available} "
            f"(index i = feature map at stride 2**(i+1))"
        )
    if list(idx) != sorted(set(idx)):
        raise ValueError(f"{name}: out_indices {list(idx)} must be unique and increasing (ordered by stride)")
    return idx


class Backbone(nn.Module):
    """Base class of every backbone: ``forward(x)`` returns ``list[Tensor]`` ordered by increasing stride, one map
    per out index, described by ``feature_info`` (-> ``channels`` / ``strides``).

    Subclasses set ``self.feature_info`` (``list[FeatureInfo]``, one per returned map, built from the modules) and
    implement ``frozen_modules(n)`` (the modules producing out indices ``0..n``: the stem and stages 1..n).
    :func:`backbones.build_backbone` applies ``frozen_stages`` / ``norm_eval`` through them
    (:mod:`backbones.contract`) and checks the result; ``train()`` keeps what it froze in eval mode.
    """

    feature_info: list[FeatureInfo]
    #: set by :func:`backbones.contract.apply_freezing`: stem and stages 1..N frozen (0: none)
    frozen_stages: int = 0
    #: set by :func:`backbones.contract.apply_freezing`: every BatchNorm stays in eval mode
    norm_eval: bool = False

    @property
    def channels(self) -> list[int]:
        """Channels of each returned feature map."""
        return [f.num_chs for f in self.feature_info]

    @property
    def strides(self) -> list[int]:
        """Stride (input pixels per cell) of each returned feature map."""
        return [f.reduction for f in self.feature_info]

    def frozen_modules(self, n: int) -> list[nn.Module]:
        """The modules producing out indices ``0..n`` (stem and stages 1..n); a backbone that can be frozen
        overrides this."""
        raise NotImplementedError(f"{type(self).__name__} does not implement frozen_modules(n)")

    def train(self, mode: bool = True) -> Backbone:
        """Like ``nn.Module.train`` but frozen stages (and with ``norm_eval`` every BatchNorm) stay in eval mode."""
        super().train(mode)
        if mode:
            if self.frozen_stages > 0:
                for m in self.frozen_modules(self.frozen_stages):
                    m.eval()
            if self.norm_eval:
                for m in self.modules():
                    if isinstance(m, nn.modules.batchnorm._BatchNorm):
                        m.eval()
        return self


def init_weights(module: nn.Module) -> None:
    """Kaiming-normal (fan_out) conv weights, unit/zero BatchNorm, small-normal linear weights."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)
