"""Backbone registry: names -> builders, registered where each builder is defined (``@register_backbone()``).

``build_backbone`` is the only entry point downstream code uses; it applies and checks the contract
(:mod:`backbones.contract`) for every backbone, registered or ``timm:<name>``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .common import Backbone
from .contract import apply_freezing, check_frozen_stages, check_outputs, load_pretrained_file
from .named_registry import Registry
from .timm_bridge import build_timm, check_timm_name

TIMM_PREFIX = "timm:"

#: ``name -> builder(pretrained: bool | None, out_indices: tuple[int, ...], **kwargs) -> Backbone``
BACKBONES: Registry[Callable[..., Backbone]] = Registry("backbone")


def register_backbone(name: str | None = None, builder: Callable[..., Backbone] | None = None) -> Any:
    """Decorator: register a builder under ``name`` (default: the function's name), e.g.::

        @register_backbone()
        def tiny_net(pretrained=None, out_indices=(2, 3, 4), **kwargs) -> Backbone: ...

    ``register_backbone(name, builder)`` (the older call form) registers ``builder`` at once and returns it."""
    if name is not None and name.startswith(TIMM_PREFIX):
        raise ValueError(f"backbone names may not start with {TIMM_PREFIX!r} (reserved for timm models)")
    decorate = BACKBONES.register(name)
    return decorate if builder is None else decorate(builder)


def list_backbones() -> list[str]:
    """Registered names (sorted). Any timm model also works as ``"timm:<name>"``."""
    return BACKBONES.names()


def build_backbone(
    name: str,
    pretrained: bool | str | os.PathLike | None = None,
    out_indices: tuple[int, ...] | list[int] = (2, 3, 4),
    *,
    frozen_stages: int = 0,
    norm_eval: bool = False,
    **kwargs: Any,
) -> Backbone:
    """Build a backbone by name, then apply and check the contract every backbone keeps.

    Args:
        name: one of ``list_backbones()`` or ``"timm:<timm model name>"``.
        pretrained: ``None``/``False`` random init, ``True`` official weights (the builder's: torch hub cache;
            offline -> error naming the file and where to put it), or a ``.pth/.pt/.safetensors`` path (loaded here
            for registered backbones, strict keys; timm loads its own).
        out_indices: which maps to return; index i is the map at stride ``2 ** (i + 1)`` (0 = stem, 1..4 = stages).
            Checked against the built backbone's ``strides``.
        frozen_stages: N > 0 freezes the stem and stages 1..N (no gradients, eval mode; -1/0: none), applied here
            through the backbone's ``frozen_modules(n)`` and checked.
        norm_eval: every BatchNorm stays in eval mode (frozen running statistics), applied here.
        kwargs: ``width_mult``, ``depth_mult``; ``num_classes`` (CSP and torchvision nets: > 0 adds the
            ImageNet-style classifier and ``forward`` returns logits ``[B, C]``; no out_indices check then).

    Returns:
        a :class:`backbones.common.Backbone` whose ``forward(x: float [B, 3, H, W])`` returns ``list[Tensor]``
        ordered by stride, with ``.channels`` and ``.strides`` (``list[int]``) describing exactly those maps.
    """
    check_backbone_name(name)
    out_indices = tuple(out_indices)
    frozen_stages = check_frozen_stages(name, frozen_stages)
    if name.startswith(TIMM_PREFIX):
        model: Backbone = build_timm(name[len(TIMM_PREFIX) :], pretrained, out_indices, **kwargs)
    else:
        path = pretrained if isinstance(pretrained, (str, os.PathLike)) else None
        builder = BACKBONES.get(name)
        model = builder(pretrained=None if path is not None else pretrained, out_indices=out_indices, **kwargs)
        if path is not None:
            load_pretrained_file(name, model, path)
    if not kwargs.get("num_classes"):
        check_outputs(name, model, out_indices)
    apply_freezing(name, model, frozen_stages, norm_eval)  # after loading, so frozen params keep the loaded values
    return model


def check_backbone_name(name: str) -> None:
    """Raise ValueError naming the close names unless ``name`` is registered or a model timm knows (``timm:<name>``;
    imports timm). Cheap: a trainer calls it before it reads any data."""
    if not isinstance(name, str):
        raise TypeError(f"backbone name must be a str, got {type(name).__name__}")
    if name.startswith(TIMM_PREFIX):
        check_timm_name(name[len(TIMM_PREFIX) :])
        return
    if name not in BACKBONES:
        try:
            BACKBONES.get(name)
        except ValueError as e:
            raise ValueError(f"{e} (or 'timm:<name>' for any timm model)") from None
