"""The head-family plug-in interface: the head protocol (:class:`DetectionHead`) and the family object
(:class:`HeadFamily`) that :func:`detector.model.registry.register_head_family` registers.

A head's ``forward_raw(feats) -> raw maps`` (one tensor per level, the family's own layout), ``decode(raw) ->
[B, N, 4 + C]`` float32 (cx, cy, w, h input pixels, class scores in [0, 1]), and ``forward`` = ``forward_raw`` or,
with ``decode_in_forward`` (the export switch), ``decode(forward_raw(feats))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from detector.config import HeadConfig

T = TypeVar("T")


class DetectionHead(nn.Module):
    """Base of the head families. Subclasses set ``config_buffers`` (class attribute) and ``num_classes``,
    ``strides`` (pixels, one per level) and ``decode_in_forward`` in ``__init__``; ``family`` is set when the
    family naming this class as its ``head`` registers."""

    #: registry name of the family (``model.head.type``), set by :func:`detector.model.registry.register_head_family`;
    #: the loss, export format and hooks are looked up by it
    family: ClassVar[str]
    #: buffers that hold configuration (kept from the config when fine-tuning from another checkpoint); each is
    #: the config key ``model.head.<name>``
    config_buffers: ClassVar[tuple[str, ...]]
    num_classes: int
    strides: list[int]
    decode_in_forward: bool

    def forward_raw(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:  # pragma: no cover - abstract
        """Neck maps -> raw per-level logits."""
        raise NotImplementedError

    def decode(self, raw: Sequence[torch.Tensor]) -> torch.Tensor:  # pragma: no cover - abstract
        """Raw maps -> float32 ``[B, N, 4 + C]`` (cx, cy, w, h input pixels, class scores)."""
        raise NotImplementedError

    def forward(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor] | torch.Tensor:
        raw = self.forward_raw(feats)
        return self.decode(raw) if self.decode_in_forward else raw


class HeadFamily:
    """A head family: its config class, head and loss builders, raw-output layout and optional training hooks.

    Subclass, set the class attributes, implement :meth:`build_head` / :meth:`build_loss` and register the class
    with ``@register_head_family()`` (:mod:`detector.model.registry`); the name, written once, is the ``type`` default
    of ``config`` (``model.head.type``), and the registry sets it as the family's ``name`` and its ``head``'s
    ``family``.
    """

    #: registry name, set by :func:`detector.model.registry.register_head_family`
    name: ClassVar[str]
    #: the family's ``model.head`` dataclass: a :class:`detector.config.HeadConfig` subclass whose ``type`` default
    #: is the family's name and whose ``loss`` field holds the loss settings
    config: ClassVar[type[HeadConfig]]
    #: the head class :meth:`build_head` builds (its ``family`` is set on registration)
    head: ClassVar[type[DetectionHead]]
    #: the raw export outputs (one per level), as written into the exported model's ``output_format`` metadata
    raw_outputs: ClassVar[str]
    #: ``model.head`` keys a training run may rewrite in its own config (by :meth:`on_train_start`)
    run_updated_keys: ClassVar[tuple[str, ...]] = ()

    def build_head(
        self, cfg: HeadConfig, channels: Sequence[int], strides: Sequence[int], num_classes: int
    ) -> DetectionHead:  # pragma: no cover - abstract
        """The head for neck maps of ``channels`` / ``strides`` (pixels) and ``num_classes`` classes."""
        raise NotImplementedError

    def build_loss(self, cfg: HeadConfig, head: DetectionHead) -> nn.Module:  # pragma: no cover - abstract
        """``criterion(raw maps, targets [M, 6]) -> (scalar loss, {part: float})`` of ``cfg.loss``."""
        raise NotImplementedError

    def on_train_start(self, head: DetectionHead, cfg: HeadConfig, coco: Any, img_size: int) -> str | None:
        """Called by the trainer at the start of a fresh run or a fine-tune (not on resume) with the run's own
        head config (the hook may update it), the training set's pycocotools index and the input size (pixels).
        Returns a line for the log, or None."""
        return None

    def on_resume(self, head: DetectionHead, cfg: HeadConfig) -> None:
        """Called after a resumed run restored ``head``: bring the run's head config in line with the restored
        buffers (``head.config_buffers``)."""


def as_family_config(cfg: HeadConfig, cls: type[T]) -> T:
    """``cfg`` as the family config ``cls``; a TypeError naming both when another family's config was passed."""
    if not isinstance(cfg, cls):
        raise TypeError(f"model.head of type {cfg.type!r} ({type(cfg).__name__}) given where {cls.__name__} is needed")
    return cfg


def as_family_head(head: DetectionHead, cls: type[T]) -> T:
    """``head`` as a ``cls``; a TypeError when a head claims a family (``head.family``) it does not implement."""
    if not isinstance(head, cls):
        raise TypeError(f"{type(head).__name__} declares head family {head.family!r}, which needs a {cls.__name__}")
    return head
