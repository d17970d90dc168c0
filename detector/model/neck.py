"""Necks, registered in :data:`NECKS` (``model.neck.type``): the SPP + PANet neck (YOLOv4), which builds itself from
the backbone's ``channels`` / ``strides`` only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from backbones.named_registry import Registry
from detector.config.plugins import NECK_TYPES, register_neck_type
from detector.model.layers import SPP, ConvBNAct, ConvStack

if TYPE_CHECKING:
    from detector.config import NeckConfig


def check_strides(strides: Sequence[int]) -> None:
    """Raise ``ValueError`` unless ``strides`` are 3 contiguous powers of two (e.g. 8, 16, 32)."""
    strides = list(strides)
    if len(strides) != 3:
        raise ValueError(f"the SPP-PAN neck needs exactly 3 input levels, got strides {strides}")
    for s in strides:
        if s < 1 or s & (s - 1):
            raise ValueError(f"neck input strides must be powers of two, got {strides}")
    for a, b in zip(strides, strides[1:], strict=False):
        if b != 2 * a:
            raise ValueError(f"neck input strides must be contiguous (each twice the previous), got {strides}")


class Neck(nn.Module):
    """Base of the necks: ``forward(maps) -> maps`` (increasing stride); ``channels`` / ``strides`` (pixels) describe
    the output maps, and the head is built from them."""

    channels: list[int]
    strides: list[int]


#: ``model.neck.type`` -> ``builder(cfg: NeckConfig, channels, strides) -> Neck`` (the backbone's maps)
NECKS: Registry[Callable[[NeckConfig, Sequence[int], Sequence[int]], Neck]] = Registry("neck", key="model.neck.type")
NB = TypeVar("NB", bound=Callable[..., Any])


def register_neck(name: str | None = None) -> Callable[[NB], NB]:
    """Decorator: register a neck builder ``(cfg: NeckConfig, channels, strides) -> Neck`` in :data:`NECKS` under
    ``name`` (default: the function's name), and accept that name as ``model.neck.type``
    (:func:`detector.config.plugins.register_neck_type`)."""

    def decorate(fn: NB) -> NB:
        NECKS.register(name)(fn)
        register_neck_type(name or fn.__name__)
        return fn

    return decorate


def unregister_neck(name: str) -> None:
    """Remove the neck ``name`` (for code that registered a neck for a while)."""
    NECKS.remove(name)
    NECK_TYPES.remove(name)


class SPPPAN(Neck):
    """SPP on the deepest map, then a PANet top-down and bottom-up path.

    Input: 3 maps ``[B, in_channels[i], H / in_strides[i], W / in_strides[i]]`` (increasing stride).
    Output: P3/P4/P5 ``[B, widths[i], H / in_strides[i], W / in_strides[i]]``; ``channels``/``strides`` describe them.
    ``depth`` is the number of (3x3, 1x1) conv pairs after the 1x1 of each PAN stack (YOLOv4: 2).
    ``spp_order`` orders the SPP concat (:class:`detector.model.layers.SPP`); ``bn_eps`` is every BatchNorm's epsilon.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        widths: Sequence[int] = (128, 256, 512),
        depth: int = 2,
        spp_kernels: Sequence[int] = (5, 9, 13),
        act: str = "leaky",
        spp_order: str = "input_first",
        bn_eps: float = 1e-3,
    ):
        super().__init__()
        check_strides(in_strides)
        if len(in_channels) != 3 or len(widths) != 3:
            raise ValueError(f"neck needs 3 in_channels and 3 widths, got {list(in_channels)} and {list(widths)}")
        if depth < 0:
            raise ValueError(f"neck depth must be >= 0, got {depth}")
        c3, c4, c5 = (int(c) for c in in_channels)
        w3, w4, w5 = (int(w) for w in widths)
        self.channels = [w3, w4, w5]
        self.strides = [int(s) for s in in_strides]
        spp_pairs = 1 if depth > 0 else 0
        conv = partial(ConvBNAct, act=act, bn_eps=bn_eps)
        stack = partial(ConvStack, act=act, bn_eps=bn_eps)
        # SPP block on C5
        self.pre_spp = stack(c5, w5, spp_pairs)
        self.spp = SPP(spp_kernels, spp_order)
        self.post_spp = stack(w5 * (1 + len(spp_kernels)), w5, spp_pairs)
        # top-down path
        self.lat5 = conv(w5, w4, 1)
        self.in4 = conv(c4, w4, 1)
        self.td4 = stack(2 * w4, w4, depth)
        self.lat4 = conv(w4, w3, 1)
        self.in3 = conv(c3, w3, 1)
        self.td3 = stack(2 * w3, w3, depth)
        # bottom-up path
        self.down3 = conv(w3, w4, 3, stride=2)
        self.bu4 = stack(2 * w4, w4, depth)
        self.down4 = conv(w4, w5, 3, stride=2)
        self.bu5 = stack(2 * w5, w5, depth)

    def forward(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """``[C3, C4, C5] -> [P3, P4, P5]`` (comments: channels, stride; s = in_strides[0])."""
        c3, c4, c5 = feats
        x5 = self.post_spp(self.spp(self.pre_spp(c5)))  # c5 -> w5 -> 4*w5 (SPP) -> w5, 4s
        # top-down
        up5 = F.interpolate(self.lat5(x5), size=c4.shape[-2:], mode="nearest")  # w5 -> w4, 4s -> 2s
        td4 = self.td4(torch.cat([self.in4(c4), up5], 1))  # (w4 + w4) -> w4, 2s
        up4 = F.interpolate(self.lat4(td4), size=c3.shape[-2:], mode="nearest")  # w4 -> w3, 2s -> s
        p3 = self.td3(torch.cat([self.in3(c3), up4], 1))  # (w3 + w3) -> w3, s     = P3 out
        # bottom-up
        p4 = self.bu4(torch.cat([self.down3(p3), td4], 1))  # w3 -> w4 (3x3/2), s -> 2s; (w4 + w4) -> w4 = P4 out
        p5 = self.bu5(torch.cat([self.down4(p4), x5], 1))  # w4 -> w5 (3x3/2), 2s -> 4s; (w5 + w5) -> w5 = P5 out
        return [p3, p4, p5]


@register_neck()
def spp_pan(cfg: NeckConfig, channels: Sequence[int], strides: Sequence[int]) -> SPPPAN:
    """``model.neck.type: spp_pan``: :class:`SPPPAN` over the backbone maps of ``channels`` / ``strides`` (pixels)."""
    return SPPPAN(channels, strides, cfg.widths, cfg.depth, cfg.spp_kernels, spp_order=cfg.spp_order, bn_eps=cfg.bn_eps)
