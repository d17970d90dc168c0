"""Parametric Cross-Stage-Partial network (CSPResNeXt / CSPDarkNet), state-dict compatible with timm's ``CspNet``.

A network is described by small frozen dataclasses (``StemCfg``, ``StageCfg``, ``CspNetCfg``). Each stage:
optional 3x3 strided (grouped) down-conv -> 1x1 expansion (linear if ``cross_linear``) whose output is split
channel-wise into a cross part and a block part (halves by default) -> residual blocks on the block part -> 1x1
partial transition -> concat ``[cross, blocks]`` (or ``[blocks, cross]``) -> 1x1 transition. Conv layers are
Conv + BN + activation (LeakyReLU 0.01 by default). The extra fields (``pool_kernel``, ``cross_ratio``,
``block_first``, ``partial_shortcut``, ``bn_eps``) describe darknet's CSPResNeXt-50; their defaults keep timm's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial

import torch
from torch import nn

from .common import (
    NUM_LEVELS,
    Backbone,
    ClassifierHead,
    ConvBNAct,
    FeatureInfo,
    check_out_indices,
    init_weights,
    level_stride,
    make_divisible,
)
from .csp_blocks import BLOCKS, BottleneckBlock, DarkBlock


@dataclass(frozen=True)
class StemCfg:
    """Stem: one ``kernel_size`` conv with stride ``stride`` (+ optional max-pool with stride 2).

    ``pool_kernel``: 3 = 3x3/2 with padding 1 (timm), 2 = 2x2/2 without padding (darknet ``[maxpool] size=2``).
    """

    out_chs: int = 64
    kernel_size: int = 7
    stride: int = 2
    pool: bool = True
    pool_kernel: int = 3


@dataclass(frozen=True)
class StageCfg:
    """One cross-stage-partial stage.

    ``expand_ratio``: conv_exp channels / out_chs; ``block_ratio``: block channels / out_chs; ``bottle_ratio``: block
    hidden channels / block channels; ``down_growth``: down-conv outputs ``out_chs`` (else keeps input channels);
    ``block``: ``"bottle"`` (ResNeXt 1x1-3x3g-1x1, act after add) or ``"dark"`` (1x1-3x3, no act after add).

    Darknet variants: ``cross_ratio`` (cross-part channels / out_chs; None = half of the expansion, the block part
    gets the rest), ``block_first`` (concat ``[blocks, cross]``, darknet's ``[route] layers=-1,-N``),
    ``partial_shortcut`` (a block whose input is narrower than its output adds the input to its first channels,
    darknet's ``[shortcut]`` between layers of different widths; otherwise widths must match).
    """

    depth: int
    out_chs: int
    stride: int = 2
    groups: int = 1
    expand_ratio: float = 1.0
    bottle_ratio: float = 1.0
    block_ratio: float = 1.0
    cross_linear: bool = False
    down_growth: bool = False
    block: str = "bottle"
    cross_ratio: float | None = None
    block_first: bool = False
    partial_shortcut: bool = False


@dataclass(frozen=True)
class CspNetCfg:
    """Whole network: stem, stages (in order), activation name, zero-init of the last BN in each residual branch,
    BatchNorm epsilon (darknet: 1e-5 added to the variance, as torch's default)."""

    stem: StemCfg
    stages: tuple[StageCfg, ...]
    act: str = "leaky_relu"
    zero_init_last: bool = True
    bn_eps: float = 1e-5


def scale_cfg(cfg: CspNetCfg, width_mult: float = 1.0, depth_mult: float = 1.0) -> CspNetCfg:
    """Scale a config: channels ``make_divisible(c * width_mult, 8)``, depths ``max(1, round(d * depth_mult))``.

    Groups are scaled with the width (``max(1, round(groups * width_mult))``) so the per-group width of the grouped
    3x3 convs stays that of the full model, then reduced to the largest value dividing every grouped conv's channels.
    """
    if width_mult <= 0 or depth_mult <= 0:
        raise ValueError(f"width_mult={width_mult} and depth_mult={depth_mult} must be > 0")
    if width_mult == 1.0 and depth_mult == 1.0:
        return cfg
    stem = replace(cfg.stem, out_chs=make_divisible(cfg.stem.out_chs * width_mult))
    prev, stages = stem.out_chs, []
    for s in cfg.stages:
        out = make_divisible(s.out_chs * width_mult)
        groups = s.groups
        if groups > 1:
            down_chs = out if s.down_growth else prev
            mid = int(round(int(round(out * s.block_ratio)) * s.bottle_ratio))
            groups = math.gcd(max(1, round(groups * width_mult)), prev, down_chs, mid)
        depth = max(1, round(s.depth * depth_mult))
        stages.append(replace(s, out_chs=out, groups=groups, depth=depth))
        prev = out
    return replace(cfg, stem=stem, stages=tuple(stages))


class CrossStage(nn.Module):
    """CSP stage ``[B, in_chs, H, W] -> [B, out_chs, H / stride, W / stride]`` (see module docstring).

    Channels: expansion ``E = out_chs * expand_ratio`` split into cross ``X`` (``out_chs * cross_ratio``, or ``E / 2``)
    and block input ``E - X``; blocks of ``out_chs * block_ratio`` channels; the partial transition outputs ``E / 2``
    (timm) or the block width (with ``cross_ratio``); the transition takes the concat of that and the cross part.
    """

    conv_down: nn.Module  # ConvBNAct, or nn.Identity when the stage keeps the stride

    def __init__(self, in_chs: int, cfg: StageCfg, act: str, bn_eps: float = 1e-5) -> None:
        super().__init__()
        if cfg.block not in BLOCKS:
            raise ValueError(f"StageCfg.block={cfg.block!r} unknown; choose one of {sorted(BLOCKS)}")
        exp_chs = int(round(cfg.out_chs * cfg.expand_ratio))
        block_chs = int(round(cfg.out_chs * cfg.block_ratio))
        if cfg.cross_ratio is None:
            if exp_chs % 2:
                raise ValueError(f"CrossStage: expansion channels {exp_chs} must be even to split in two halves")
            cross_chs = trans_b_chs = exp_chs // 2
        else:
            cross_chs, trans_b_chs = int(round(cfg.out_chs * cfg.cross_ratio)), block_chs
            if not 0 < cross_chs < exp_chs:
                raise ValueError(
                    f"CrossStage: cross channels {cross_chs} (cross_ratio {cfg.cross_ratio}) must be between 0 and "
                    f"the expansion channels {exp_chs} (expand_ratio {cfg.expand_ratio})"
                )
        self.split = [cross_chs, exp_chs - cross_chs]
        self.block_first = cfg.block_first
        conv = partial(ConvBNAct, act=act, bn_eps=bn_eps)
        prev = in_chs
        if cfg.stride != 1:
            down_chs = cfg.out_chs if cfg.down_growth else in_chs
            self.conv_down = conv(in_chs, down_chs, 3, stride=cfg.stride, groups=cfg.groups)
            prev = down_chs
        else:
            self.conv_down = nn.Identity()
        self.conv_exp = ConvBNAct(prev, exp_chs, 1, act="identity" if cfg.cross_linear else act, bn_eps=bn_eps)
        block_fn = BLOCKS[cfg.block]
        blocks, prev = [], self.split[1]
        for _ in range(cfg.depth):
            blocks.append(block_fn(prev, block_chs, cfg.bottle_ratio, cfg.groups, act, bn_eps, cfg.partial_shortcut))
            prev = block_chs
        self.blocks = nn.Sequential(*blocks)
        self.conv_transition_b = conv(prev, trans_b_chs, 1)
        self.conv_transition = conv(cross_chs + trans_b_chs, cfg.out_chs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_exp(self.conv_down(x))
        x_cross, x_block = torch.split(x, self.split, dim=1)
        x_block = self.conv_transition_b(self.blocks(x_block))
        parts = [x_block, x_cross] if self.block_first else [x_cross, x_block]
        return self.conv_transition(torch.cat(parts, dim=1))


def make_stem_pool(kernel: int) -> nn.MaxPool2d:
    """Stride-2 stem max-pool: 3 -> 3x3 padding 1 (timm), 2 -> 2x2 no padding (darknet; even input sizes)."""
    if kernel not in (2, 3):
        raise ValueError(f"StemCfg.pool_kernel={kernel}: choose 3 (timm, 3x3/2 pad 1) or 2 (darknet, 2x2/2)")
    return nn.MaxPool2d(kernel_size=kernel, stride=2, padding=kernel // 2 if kernel == 3 else 0)


class CspNet(Backbone):
    """CSP backbone. ``forward(x)`` with ``x: float [B, 3, H, W]`` returns ``list[Tensor]`` (one per out index,
    increasing stride); with ``num_classes > 0`` it returns logits ``[B, num_classes]`` (``forward_features`` still
    gives the maps). State-dict keys follow timm: ``stem.conv1``, ``stages.N.{conv_down,conv_exp,blocks.i,
    conv_transition_b,conv_transition}``, ``head.fc``.
    """

    def __init__(
        self,
        cfg: CspNetCfg,
        out_indices: tuple[int, ...] = (2, 3, 4),
        num_classes: int = 0,
        name: str = "cspnet",
    ) -> None:
        super().__init__()
        self.cfg, self.num_classes = cfg, num_classes
        # flat module sequence: stem children then stages; `taps` maps a flat position to its feature reduction.
        stem = nn.Sequential()
        st = cfg.stem
        stem.add_module("conv1", ConvBNAct(3, st.out_chs, st.kernel_size, st.stride, act=cfg.act, bn_eps=cfg.bn_eps))
        infos = [FeatureInfo(cfg.stem.out_chs, cfg.stem.stride, "stem.conv1")]
        if cfg.stem.pool:
            stem.add_module("pool", make_stem_pool(cfg.stem.pool_kernel))
            infos.append(FeatureInfo(cfg.stem.out_chs, cfg.stem.stride * 2, "stem.pool"))
        chs, red = infos[-1].num_chs, infos[-1].reduction
        for i, s in enumerate(cfg.stages):
            red *= s.stride
            infos.append(FeatureInfo(s.out_chs, red, f"stages.{i}"))
        # out index k <-> last flat position whose reduction is 2 ** (k + 1)
        level_pos = {}
        for pos, f in enumerate(infos):
            for k in range(NUM_LEVELS):
                if f.reduction == level_stride(k):
                    level_pos[k] = pos
        self.out_indices = check_out_indices(name, out_indices, sorted(level_pos))
        last_pos = len(infos) - 1 if num_classes > 0 else max(level_pos[k] for k in self.out_indices)
        stages = []
        for i, s in enumerate(cfg.stages):
            if len(stem) + i > last_pos:  # stages after the last requested map are not built
                break
            stages.append(CrossStage(chs, s, cfg.act, cfg.bn_eps))
            chs = s.out_chs
        self.stem, self.stages = stem, nn.Sequential(*stages)
        self.num_built_stages = len(stages)
        self._level_pos = level_pos
        self._taps = [level_pos[k] for k in self.out_indices]
        self.feature_info = [infos[level_pos[k]] for k in self.out_indices]
        self.num_features = chs
        self.head = ClassifierHead(chs, num_classes) if num_classes > 0 else None
        init_weights(self)
        if cfg.zero_init_last:
            for m in self.modules():
                if isinstance(m, (BottleneckBlock, DarkBlock)):
                    m.zero_init_last()

    def _flat(self) -> list[nn.Module]:
        return list(self.stem.children()) + list(self.stages.children())

    def frozen_modules(self, n: int) -> list[nn.Module]:
        """Modules producing out indices ``0..n`` (stem and stages 1..n)."""
        end = max(p for k, p in self._level_pos.items() if k <= n)
        return self._flat()[: end + 1]

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[B, 3, H, W] -> list of [B, C_i, H / s_i, W / s_i]`` for ``self.channels`` / ``self.strides``."""
        feats = []
        for pos, m in enumerate(self._flat()):
            x = m(x)
            if pos in self._taps:
                feats.append(x)
                if len(feats) == len(self._taps):
                    break
        return feats

    def forward(self, x: torch.Tensor) -> list[torch.Tensor] | torch.Tensor:
        if self.head is None:
            return self.forward_features(x)
        for m in self._flat():
            x = m(x)
        return self.head(x)

    def ignored_checkpoint_prefixes(self) -> tuple[str, ...]:
        """Checkpoint key prefixes this (possibly truncated, headless) model does not use."""
        prefixes = [f"stages.{i}." for i in range(self.num_built_stages, len(self.cfg.stages))]
        if self.head is None:
            prefixes.append("head.")
        return tuple(prefixes)
