"""Inference-time folding of BatchNorm into the preceding convolution (used by detect, export and benchmarks)."""

from __future__ import annotations

from typing import TypeVar

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

M = TypeVar("M", bound=nn.Module)


def fuse_conv_bn(model: M) -> M:
    """Fold every BatchNorm2d that directly follows a Conv2d into the conv's weights/bias (in place; eval mode).

    Recognised pairs: ``module.conv`` + ``module.bn`` (ConvBNAct), ``convN`` + ``bnN`` (torchvision ResNets) and a
    Conv2d followed by a BatchNorm2d inside an ``nn.Sequential``. The BN is replaced by ``nn.Identity``. Only exact
    ``nn.BatchNorm2d`` modules are folded (subclasses may carry an activation). Outputs are unchanged up to float
    rounding. Returns ``model`` (switched to eval mode: fusion freezes the running statistics).
    """
    model.eval()
    for module in list(model.modules()):
        children = dict(module.named_children())
        pairs: list[tuple[str, str]] = []
        for name, child in children.items():
            if isinstance(child, nn.Conv2d):
                bn_name = name.replace("conv", "bn")
                if bn_name != name and bn_name in children:
                    pairs.append((name, bn_name))
        if isinstance(module, nn.Sequential):
            names = list(children)
            pairs += [(a, b) for a, b in zip(names, names[1:], strict=False) if isinstance(children[a], nn.Conv2d)]
        for conv_name, bn_name in pairs:
            conv, bn = getattr(module, conv_name), getattr(module, bn_name)
            if type(bn) is not nn.BatchNorm2d or bn.num_features != conv.out_channels or not bn.track_running_stats:
                continue
            setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
            setattr(module, bn_name, nn.Identity())
    return model
