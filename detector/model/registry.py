"""Registries above the backbone: necks (:data:`detector.model.neck.NECKS`) and head families (:data:`HEAD_FAMILIES`),
both :class:`backbones.named_registry.Registry` objects filled by a decorator at the definition.

A head family is a plug-in: one folder ``detector/model/heads/<family>/`` with its head, loss, assigner and config
dataclass, and a :class:`detector.model.heads.base.HeadFamily` subclass registered with ONE decorator; the family's name
is written once, as the ``type`` default of its config (what a user writes as ``model.head.type``)::

    @dataclass
    class CentreHeadConfig(HeadConfig):
        type: str = option("centre", doc=...)      # model.head: {type: centre, ..., loss: {...}}

    @register_head_family()
    class CentreFamily(HeadFamily):
        config = CentreHeadConfig
        head = CentreHead                          # its ``family`` is set to "centre" here
        raw_outputs = "raw [B, 4+C, H, W] logits per level"
        def build_head(self, cfg, channels, strides, num_classes): ...
        def build_loss(self, cfg, head): ...

The built-in families register when :mod:`detector.model.heads` is imported (``detector/model/__init__.py`` imports
it, so they are there whenever this module is), a
family defined elsewhere when its module is imported. ``model.head.type`` accepts every registered name. Nothing
outside a family's folder names a family: the model, trainer, export and tools get the parts from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from torch import nn

from backbones.named_registry import Registry
from detector.config import HeadConfig, NeckConfig
from detector.config.plugins import HEAD_TYPES, register_head_config
from detector.model.heads.base import DetectionHead
from detector.model.neck import NECKS, Neck

if TYPE_CHECKING:
    from detector.model.heads.base import HeadFamily

F = TypeVar("F", bound="type[HeadFamily]")


#: ``model.head.type`` -> the registered :class:`HeadFamily` object
HEAD_FAMILIES: Registry[HeadFamily] = Registry("head family", key="model.head.type")


def register_head_family(name: str | None = None) -> Callable[[F], F]:
    """Class decorator: register a :class:`HeadFamily` subclass as ``model.head.type: <name>``.

    ``name`` defaults to the ``type`` default of its ``config`` (a :class:`detector.config.HeadConfig` subclass);
    given, it must equal it. Sets the family's ``name`` and its ``head`` class's ``family``. Registering a name twice
    is an error (unless it is the same class again, e.g. a re-imported module)."""

    def decorate(cls: F) -> F:
        config = getattr(cls, "config", None)
        if not (isinstance(config, type) and issubclass(config, HeadConfig)):
            raise TypeError(f"head family {cls.__name__}: {cls.__name__}.config must be a HeadConfig subclass")
        declared = config().type
        if name is not None and declared != name:
            raise ValueError(f"head family {name!r}: {config.__name__}.type defaults to {declared!r}; make it {name!r}")
        if not isinstance(getattr(cls, "raw_outputs", None), str):
            raise TypeError(f"head family {declared!r}: {cls.__name__}.raw_outputs must describe the raw outputs")
        head = getattr(cls, "head", None)
        if not (isinstance(head, type) and issubclass(head, DetectionHead)):
            raise TypeError(f"head family {declared!r}: {cls.__name__}.head must be its DetectionHead subclass")
        if head.__dict__.get("family", declared) != declared:
            raise ValueError(f"head family {declared!r}: {head.__name__}.family is {head.family!r}; remove it")
        if declared in HEAD_TYPES and HEAD_TYPES.get(declared) is not config:
            raise ValueError(
                f"head family {declared!r}: model.head class {HEAD_TYPES.get(declared).__name__} is registered for it; "
                f"{cls.__name__}.config is {config.__name__}"
            )
        HEAD_FAMILIES.add(declared, cls())
        if declared not in HEAD_TYPES:
            register_head_config(config)  # the config accepts the name (detector/config/plugins.py)
        cls.name = declared
        head.family = declared
        return cls

    return decorate


def unregister_head_family(name: str) -> None:
    """Remove the family ``name`` and its ``model.head`` class (for code that registered a family for a while)."""
    HEAD_FAMILIES.remove(name)
    HEAD_TYPES.remove(name)


def head_family_names() -> list[str]:
    """The registered head families (``model.head.type`` choices), sorted."""
    return HEAD_FAMILIES.names()


def get_head_family(name: str, key: str = "model.head.type") -> HeadFamily:
    """The family registered as ``name``; a ValueError naming ``key``, the close names and the choices otherwise."""
    try:
        return HEAD_FAMILIES.get(name)
    except ValueError as e:  # the registry's message names model.head.type; name the caller's key instead
        raise ValueError(str(e).replace(f"{HEAD_FAMILIES.key}: ", f"{key}: ", 1)) from None


def build_neck(cfg: NeckConfig, channels: Sequence[int], strides: Sequence[int]) -> Neck:
    """The neck ``model.neck.type`` names, built from the backbone's ``channels`` / ``strides``."""
    return NECKS.get(cfg.type)(cfg, channels, strides)


def build_head(cfg: HeadConfig, channels: Sequence[int], strides: Sequence[int], num_classes: int) -> DetectionHead:
    """The head of family ``cfg.type`` (``model.head.type``), built from the neck's ``channels`` / ``strides``."""
    return get_head_family(cfg.type).build_head(cfg, channels, strides, num_classes)


def build_loss(cfg: HeadConfig, head: DetectionHead) -> nn.Module:
    """The loss of ``head``'s family (``head.family``), configured by ``cfg.loss`` (``model.head.loss``)."""
    return get_head_family(head.family, "head family").build_loss(cfg, head)
