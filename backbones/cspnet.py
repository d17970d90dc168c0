"""Parametric Cross-Stage-Partial network (CSPResNeXt / CSPDarkNet), state-dict compatible with timm's ``CspNet``.

A network is described by small frozen dataclasses (``StemCfg``, ``StageCfg``, ``CspNetCfg``). Each stage:
optional 3x3 strided (grouped) down-conv -> 1x1 expansion (linear if ``cross_linear``) whose output is split
channel-wise into a cross half and a block half -> residual blocks on the block half -> 1x1 partial transition ->
concat ``[cross, blocks]`` -> 1x1 transition. Conv layers are Conv + BN + activation (LeakyReLU 0.01 by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

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
    make_act,
    make_divisible,
)


@dataclass(frozen=True)
class StemCfg:
    """Stem: one ``kernel_size`` conv with stride ``stride`` (+ optional 3x3/2 max-pool)."""

    out_chs: int = 64
    kernel_size: int = 7
    stride: int = 2
    pool: bool = True


@dataclass(frozen=True)
class StageCfg:
    """One cross-stage-partial stage.

    ``expand_ratio``: conv_exp channels / out_chs; ``block_ratio``: block channels / out_chs; ``bottle_ratio``: block
    hidden channels / block channels; ``down_growth``: down-conv outputs ``out_chs`` (else keeps input channels);
    ``block``: ``"bottle"`` (ResNeXt 1x1-3x3g-1x1, act after add) or ``"dark"`` (1x1-3x3, no act after add).
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


@dataclass(frozen=True)
class CspNetCfg:
    """Whole network: stem, stages (in order), activation name, zero-init of the last BN in each residual branch."""

    stem: StemCfg
    stages: tuple[StageCfg, ...]
    act: str = "leaky_relu"
    zero_init_last: bool = True


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


class BottleneckBlock(nn.Module):
    """ResNeXt bottleneck: 1x1 -> grouped 3x3 -> 1x1 (linear), add the input, then activation. ``[B, C, H, W]``."""

    def __init__(self, chs: int, out_chs: int, bottle_ratio: float, groups: int, act: str) -> None:
        super().__init__()
        mid = int(round(out_chs * bottle_ratio))
        self.conv1 = ConvBNAct(chs, mid, 1, act=act)
        self.conv2 = ConvBNAct(mid, mid, 3, groups=groups, act=act)
        self.conv3 = ConvBNAct(mid, out_chs, 1, act="identity")
        self.act3 = make_act(act)

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.conv3.bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act3(self.conv3(self.conv2(self.conv1(x))) + x)


class DarkBlock(nn.Module):
    """DarkNet residual block: 1x1 -> 3x3 (both with activation), plus the input (no activation after the add)."""

    def __init__(self, chs: int, out_chs: int, bottle_ratio: float, groups: int, act: str) -> None:
        super().__init__()
        mid = int(round(out_chs * bottle_ratio))
        self.conv1 = ConvBNAct(chs, mid, 1, act=act)
        self.conv2 = ConvBNAct(mid, out_chs, 3, groups=groups, act=act)

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.conv2.bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x)) + x


BLOCKS = {"bottle": BottleneckBlock, "dark": DarkBlock}


class CrossStage(nn.Module):
    """CSP stage ``[B, in_chs, H, W] -> [B, out_chs, H / stride, W / stride]`` (see module docstring)."""

    def __init__(self, in_chs: int, cfg: StageCfg, act: str) -> None:
        super().__init__()
        if cfg.block not in BLOCKS:
            raise ValueError(f"StageCfg.block={cfg.block!r} unknown; choose one of {sorted(BLOCKS)}")
        exp_chs = int(round(cfg.out_chs * cfg.expand_ratio))
        block_chs = int(round(cfg.out_chs * cfg.block_ratio))
        if exp_chs % 2:
            raise ValueError(f"CrossStage: expansion channels {exp_chs} must be even to split in two halves")
        self.split_chs = exp_chs // 2
        prev = in_chs
        if cfg.stride != 1:
            down_chs = cfg.out_chs if cfg.down_growth else in_chs
            self.conv_down = ConvBNAct(in_chs, down_chs, 3, stride=cfg.stride, groups=cfg.groups, act=act)
            prev = down_chs
        else:
            self.conv_down = nn.Identity()
        self.conv_exp = ConvBNAct(prev, exp_chs, 1, act="identity" if cfg.cross_linear else act)
        block_fn = BLOCKS[cfg.block]
        blocks, prev = [], self.split_chs
        for _ in range(cfg.depth):
            blocks.append(block_fn(prev, block_chs, cfg.bottle_ratio, cfg.groups, act))
            prev = block_chs
        self.blocks = nn.Sequential(*blocks)
        self.conv_transition_b = ConvBNAct(prev, self.split_chs, 1, act=act)
        self.conv_transition = ConvBNAct(exp_chs, cfg.out_chs, 1, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_exp(self.conv_down(x))
        x_cross, x_block = torch.split(x, self.split_chs, dim=1)
        x_block = self.conv_transition_b(self.blocks(x_block))
        return self.conv_transition(torch.cat([x_cross, x_block], dim=1))


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
        frozen_stages: int = 0,
        norm_eval: bool = False,
        name: str = "cspnet",
    ) -> None:
        super().__init__()
        self.cfg, self.num_classes = cfg, num_classes
        # flat module sequence: stem children then stages; `taps` maps a flat position to its feature reduction.
        stem = nn.Sequential()
        stem.add_module("conv1", ConvBNAct(3, cfg.stem.out_chs, cfg.stem.kernel_size, cfg.stem.stride, act=cfg.act))
        infos = [FeatureInfo(cfg.stem.out_chs, cfg.stem.stride, "stem.conv1")]
        if cfg.stem.pool:
            stem.add_module("pool", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
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
            stages.append(CrossStage(chs, s, cfg.act))
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
                if hasattr(m, "zero_init_last"):
                    m.zero_init_last()
        self._setup(frozen_stages, norm_eval)

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
