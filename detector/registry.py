"""Registries above the backbone: necks and head families.

A head family is a plug-in: one folder ``detector/heads/<family>/`` with its head, loss, assigner and config
dataclass, and a :class:`detector.heads.base.HeadFamily` subclass registered with ONE decorator::

    @register_head_family("centre")
    class CentreFamily(HeadFamily):
        config = CentreHeadConfig          # model.head: {type: centre, ..., loss: {...}}
        raw_outputs = "raw [B, 4+C, H, W] logits per level"
        def build_head(self, cfg, channels, strides, num_classes): ...
        def build_loss(self, cfg, head): ...

The built-in families register when :mod:`detector.heads` is imported (this module imports it on first use), a
family defined elsewhere when its module is imported. ``model.head.type`` accepts every registered name. Nothing
outside a family's folder names a family: the model, trainer, export and tools get the parts from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from torch import nn

from detector.config import HeadConfig, NeckConfig
from detector.neck import SPPPAN, Neck

if TYPE_CHECKING:  # importing detector.heads imports the families, which import this module
    from detector.heads.base import DetectionHead, HeadFamily

F = TypeVar("F", bound="type[HeadFamily]")

#: ``model.head.type`` when a config does not name one
DEFAULT_HEAD_FAMILY = "yolov4"

_HEAD_FAMILIES: dict[str, HeadFamily] = {}

NECKS: dict[str, Callable[[NeckConfig, Sequence[int], Sequence[int]], Neck]] = {
    "spp_pan": lambda cfg, channels, strides: SPPPAN(
        channels, strides, cfg.widths, cfg.depth, cfg.spp_kernels, spp_order=cfg.spp_order, bn_eps=cfg.bn_eps
    ),
}


def register_head_family(name: str) -> Callable[[F], F]:
    """Class decorator: register a :class:`HeadFamily` subclass as ``model.head.type: <name>``.

    Its ``config`` must be a :class:`detector.config.HeadConfig` subclass whose ``type`` defaults to ``name``.
    Registering a name twice is an error (unless it is the same class again, e.g. a re-imported module)."""

    def decorate(cls: F) -> F:
        config = getattr(cls, "config", None)
        if not (isinstance(config, type) and issubclass(config, HeadConfig)):
            raise TypeError(f"head family {name!r}: {cls.__name__}.config must be a HeadConfig subclass")
        if config().type != name:
            raise ValueError(
                f"head family {name!r}: {config.__name__}.type defaults to {config().type!r}; make it {name!r}"
            )
        if not isinstance(getattr(cls, "raw_outputs", None), str):
            raise TypeError(f"head family {name!r}: {cls.__name__}.raw_outputs must describe the raw outputs")
        old = _HEAD_FAMILIES.get(name)
        if old is not None and type(old).__qualname__ != cls.__qualname__:
            raise ValueError(f"head family {name!r} is already registered by {type(old).__qualname__}")
        cls.name = name
        _HEAD_FAMILIES[name] = cls()
        return cls

    return decorate


def _families() -> dict[str, HeadFamily]:
    import detector.heads  # noqa: F401 - registers the built-in families

    return _HEAD_FAMILIES


def head_family_names() -> list[str]:
    """The registered head families (``model.head.type`` choices), sorted."""
    return sorted(_families())


def get_head_family(name: str, key: str = "model.head.type") -> HeadFamily:
    """The family registered as ``name``; a ValueError naming ``key`` and the choices when there is none."""
    families = _families()
    if name not in families:
        raise ValueError(f"{key}: unknown head family '{name}'; choose one of {sorted(families)}")
    return families[name]


def build_neck(cfg: NeckConfig, channels: Sequence[int], strides: Sequence[int]) -> Neck:
    """The neck ``model.neck.type`` names, built from the backbone's ``channels`` / ``strides``."""
    if cfg.type not in NECKS:
        raise ValueError(f"model.neck.type: unknown name '{cfg.type}'; choose one of {sorted(NECKS)}")
    return NECKS[cfg.type](cfg, channels, strides)


def build_head(cfg: HeadConfig, channels: Sequence[int], strides: Sequence[int], num_classes: int) -> DetectionHead:
    """The head of family ``cfg.type`` (``model.head.type``), built from the neck's ``channels`` / ``strides``."""
    return get_head_family(cfg.type).build_head(cfg, channels, strides, num_classes)


def build_loss(cfg: HeadConfig, head: DetectionHead) -> nn.Module:
    """The loss of ``head``'s family (``head.family``), configured by ``cfg.loss`` (``model.head.loss``)."""
    return get_head_family(head.family, "head family").build_loss(cfg, head)
