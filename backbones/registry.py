"""Backbone registry: names -> builder functions. ``build_backbone`` is the only entry point downstream code uses."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from functools import partial

from .common import Backbone
from .cspresnext import build_cspnet
from .timm_bridge import build_timm, check_timm_name
from .torchvision_nets import build_torchvision

TIMM_PREFIX = "timm:"

_REGISTRY: dict[str, Callable[..., Backbone]] = {}


def register_backbone(name: str, builder: Callable[..., Backbone]) -> None:
    """Register ``builder(pretrained=..., out_indices=..., **kwargs) -> Backbone`` under ``name``."""
    if name in _REGISTRY:
        raise ValueError(f"backbone {name!r} is already registered")
    if name.startswith(TIMM_PREFIX):
        raise ValueError(f"backbone names may not start with {TIMM_PREFIX!r} (reserved for timm models)")
    _REGISTRY[name] = builder


for _name in ("cspresnext50", "cspdarknet53", "cspresnext50_darknet"):
    register_backbone(_name, partial(build_cspnet, _name))
for _name in ("resnet50", "resnext50_32x4d"):
    register_backbone(_name, partial(build_torchvision, _name))


def list_backbones() -> list[str]:
    """Registered names (sorted). Any timm model also works as ``"timm:<name>"``."""
    return sorted(_REGISTRY)


def build_backbone(
    name: str,
    pretrained: bool | str | os.PathLike | None = None,
    out_indices: tuple[int, ...] | list[int] = (2, 3, 4),
    **kwargs,
) -> Backbone:
    """Build a backbone by name.

    Args:
        name: one of ``list_backbones()`` or ``"timm:<timm model name>"``.
        pretrained: ``None``/``False`` random init, ``True`` official weights (torch hub cache; offline -> error
            naming the file and where to put it), or a ``.pth/.pt/.safetensors`` path.
        out_indices: which maps to return; index i is the map at stride ``2 ** (i + 1)`` (0 = stem, 1..4 = stages).
        kwargs: ``width_mult``, ``depth_mult``, ``frozen_stages``, ``norm_eval``; ``num_classes`` (CSP and
            torchvision nets: > 0 adds the ImageNet-style classifier and ``forward`` returns logits ``[B, C]``).

    Returns:
        a :class:`backbones.common.Backbone` whose ``forward(x: float [B, 3, H, W])`` returns ``list[Tensor]``
        ordered by stride, with ``.channels`` and ``.strides`` (``list[int]``) describing exactly those maps.
    """
    check_backbone_name(name)
    out_indices = tuple(out_indices)
    if name.startswith(TIMM_PREFIX):
        return build_timm(name[len(TIMM_PREFIX) :], pretrained, out_indices, **kwargs)
    return _REGISTRY[name](pretrained=pretrained, out_indices=out_indices, **kwargs)


def check_backbone_name(name: str) -> None:
    """Raise ValueError naming the close names unless ``name`` is registered or a model timm knows (``timm:<name>``;
    imports timm). Cheap: a trainer calls it before it reads any data."""
    if not isinstance(name, str):
        raise TypeError(f"backbone name must be a str, got {type(name).__name__}")
    if name.startswith(TIMM_PREFIX):
        check_timm_name(name[len(TIMM_PREFIX) :])
    elif name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown backbone {name!r}.{hint} Available: {list_backbones()} (or 'timm:<name>' for any timm model)"
        )
