"""Residual blocks of the CSP stages: ResNeXt bottleneck and DarkNet block (timm's state-dict keys).

Both take ``(chs, out_chs, bottle_ratio, groups, act, bn_eps, partial_shortcut)`` and map ``[B, chs, H, W]`` to
``[B, out_chs, H, W]``. ``partial_shortcut`` allows a narrower input than output, added to the first channels as
darknet's ``[shortcut]`` does (the first block of darknet's CSPResNeXt-50 stage 1: 64 -> 128 channels).
"""

from __future__ import annotations

import torch
from torch import nn

from .common import ConvBNAct, make_act


def _check_shortcut(chs: int, out_chs: int, partial: bool) -> None:
    if chs != out_chs and not (partial and chs < out_chs):
        raise ValueError(
            f"residual block {chs} -> {out_chs} channels: the shortcut needs equal widths "
            "(StageCfg.partial_shortcut=True allows a narrower input, added to the first channels as darknet does)"
        )


def add_shortcut(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``y + x`` for ``[B, C, H, W]`` maps; a narrower ``x`` (``C_x < C``) is added to the first ``C_x`` channels of
    ``y`` and the others pass unchanged (darknet's ``[shortcut]`` between layers of different widths)."""
    if x.shape[1] == y.shape[1]:
        return y + x
    c = x.shape[1]
    return torch.cat((y[:, :c] + x, y[:, c:]), dim=1)


class BottleneckBlock(nn.Module):
    """ResNeXt bottleneck: 1x1 -> grouped 3x3 -> 1x1 (linear), add the input, then activation.

    ``[B, chs, H, W] -> [B, out_chs, H, W]``; ``chs < out_chs`` only with ``partial_shortcut`` (:func:`add_shortcut`).
    """

    def __init__(
        self,
        chs: int,
        out_chs: int,
        bottle_ratio: float,
        groups: int,
        act: str,
        bn_eps: float = 1e-5,
        partial_shortcut: bool = False,
    ) -> None:
        super().__init__()
        _check_shortcut(chs, out_chs, partial_shortcut)
        mid = int(round(out_chs * bottle_ratio))
        self.conv1 = ConvBNAct(chs, mid, 1, act=act, bn_eps=bn_eps)
        self.conv2 = ConvBNAct(mid, mid, 3, groups=groups, act=act, bn_eps=bn_eps)
        self.conv3 = ConvBNAct(mid, out_chs, 1, act="identity", bn_eps=bn_eps)
        self.act3 = make_act(act)

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.conv3.bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act3(add_shortcut(self.conv3(self.conv2(self.conv1(x))), x))


class DarkBlock(nn.Module):
    """DarkNet residual block: 1x1 -> 3x3 (both with activation), plus the input (no activation after the add)."""

    def __init__(
        self,
        chs: int,
        out_chs: int,
        bottle_ratio: float,
        groups: int,
        act: str,
        bn_eps: float = 1e-5,
        partial_shortcut: bool = False,
    ) -> None:
        super().__init__()
        _check_shortcut(chs, out_chs, partial_shortcut)
        mid = int(round(out_chs * bottle_ratio))
        self.conv1 = ConvBNAct(chs, mid, 1, act=act, bn_eps=bn_eps)
        self.conv2 = ConvBNAct(mid, out_chs, 3, groups=groups, act=act, bn_eps=bn_eps)

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.conv2.bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return add_shortcut(self.conv2(self.conv1(x)), x)


BLOCKS = {"bottle": BottleneckBlock, "dark": DarkBlock}
