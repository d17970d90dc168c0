"""Small building blocks of the neck and head: ConvBNAct, the conv stack of a PAN node, SPP.

The neck follows YOLOv4 and uses LeakyReLU(0.1) by default; an ``act`` name is any name of
``backbones.common.make_act`` (the one activation table of the project; None = identity).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

import backbones.common

NECK_BN_MOMENTUM = 0.03  # BatchNorm momentum of the neck and head convs (YOLOv5's; the backbones keep timm's 0.1)


def conv_bias(module: nn.Module) -> torch.Tensor:
    """The bias of a Conv2d prediction layer (of the last layer for an ``nn.Sequential``), for bias initialisation.

    Raises TypeError when that layer is not a Conv2d built with ``bias=True``."""
    layer = module[-1] if isinstance(module, nn.Sequential) else module
    if not isinstance(layer, nn.Conv2d) or layer.bias is None:
        raise TypeError(f"expected a Conv2d with a bias as the prediction layer, got {type(layer).__name__}")
    return layer.bias


class ConvBNAct(backbones.common.ConvBNAct):
    """The backbones' Conv2d (no bias, padding ``k // 2``) + BatchNorm2d + activation block with the neck/head
    defaults: LeakyReLU(0.1) (``leaky``; None = identity), BatchNorm eps ``bn_eps`` (1e-3) and momentum 0.03.

    ``[B, c_in, H, W] -> [B, c_out, H/s, W/s]``; state-dict keys ``conv.weight``, ``bn.*``.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int = 1,
        stride: int = 1,
        act: str | None = "leaky",
        bn_eps: float = 1e-3,
    ):
        super().__init__(
            c_in, c_out, kernel_size, stride, act=act or "identity", bn_eps=bn_eps, bn_momentum=NECK_BN_MOMENTUM
        )


class ConvStack(nn.Sequential):
    """YOLOv4 PAN node: a 1x1 conv ``c_in -> c_out`` then ``pairs`` x (3x3 ``c_out -> 2*c_out``, 1x1 back to ``c_out``).

    ``pairs=2`` gives YOLOv4's five-conv block. Spatial size is unchanged.
    """

    def __init__(self, c_in: int, c_out: int, pairs: int, act: str | None = "leaky", bn_eps: float = 1e-3):
        if pairs < 0:
            raise ValueError(f"ConvStack pairs must be >= 0, got {pairs}")
        layers: list[nn.Module] = [ConvBNAct(c_in, c_out, 1, act=act, bn_eps=bn_eps)]
        for _ in range(pairs):
            layers += [
                ConvBNAct(c_out, 2 * c_out, 3, act=act, bn_eps=bn_eps),
                ConvBNAct(2 * c_out, c_out, 1, act=act, bn_eps=bn_eps),
            ]
        super().__init__(*layers)


class SPP(nn.Module):
    """Spatial pyramid pooling (YOLOv4): concat of the input and stride-1 max-pools of each kernel size.

    ``[B, C, H, W] -> [B, C * (1 + len(kernels)), H, W]``. ``order``: ``input_first`` = ``[x, pool(k0), pool(k1),
    ...]``; ``input_last`` = the reverse, ``[..., pool(k1), pool(k0), x]`` (darknet's ``[route] layers=-1,-3,-5,-6``).

    The pools run as a chain over increasing sizes: a k_b pool of a k_a pool is exactly the (k_a + k_b - 1) pool
    (stride 1, borders padded with -inf), so 5, 9, 13 cost three 5x5 pools instead of 5x5 + 9x9 + 13x13 windows
    (the same numbers; the chain is ~3x cheaper on a GPU, where SPP was 8 % of the inference time). In training mode
    the direct pools run: same forward, but their backward adds the gradients in the order of earlier versions, so
    training runs stay bit-identical to them.
    """

    ORDERS = ("input_first", "input_last")

    def __init__(self, kernels: Sequence[int] = (5, 9, 13), order: str = "input_first"):
        super().__init__()
        for k in kernels:
            if k % 2 == 0:
                raise ValueError(f"SPP kernel sizes must be odd (to keep the map size), got {list(kernels)}")
        if order not in self.ORDERS:
            raise ValueError(f"model.neck.spp_order must be one of {list(self.ORDERS)}, got {order!r}")
        self.input_last = order == "input_last"
        self.kernels = [int(k) for k in kernels]
        chain = sorted(set(self.kernels))
        steps = [k - prev + 1 for prev, k in zip([1, *chain[:-1]], chain, strict=True)]  # all odd
        self.chain_kernels = chain
        self.pools = nn.ModuleList(nn.MaxPool2d(k, stride=1, padding=k // 2) for k in steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:  # direct pools: their backward sums gradients in the order earlier runs did (bit-identical)
            parts = [x] + [F.max_pool2d(x, k, 1, k // 2) for k in self.kernels]
            return torch.cat(parts[::-1] if self.input_last else parts, dim=1)
        pooled, y = {}, x
        for k, pool in zip(self.chain_kernels, self.pools, strict=True):
            y = pool(y)
            pooled[k] = y
        parts = [x] + [pooled[k] for k in self.kernels]
        return torch.cat(parts[::-1] if self.input_last else parts, dim=1)
