"""The plug-in names a config accepts: neck types (``model.neck.type``) and head families (``model.head.type``, each
with its own ``model.head`` class), kept here in the config's room so that the config reads them without importing
the network. (Plain name tables, not :class:`backbones.named_registry.Registry`: importing ``backbones`` imports
torch, and the config is torch-free; the unknown-name message is the same.)

The network's registries (:data:`detector.model.neck.NECKS`, :data:`detector.model.registry.HEAD_FAMILIES`) add to
these when a neck or a family registers (``register_neck``, ``register_head_family``): one decorator at the
definition, as before. The built-in families' ``model.head`` classes are declared in
:mod:`detector.config.head_families`, which :mod:`detector.config.sections` imports, so a config is checked against
them before any network code is imported.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Generic, TypeVar

from detector.config.ranges import OPEN_FRACTION
from detector.config.schema import option

#: ``model.head.type`` when a config does not name one (why: docs/ARCHITECTURE.md, "The model in detail")
DEFAULT_HEAD_FAMILY = "decoupled"
#: the family an old-layout config without ``model.head.type`` meant (the default when that layout was written)
LEGACY_DEFAULT_HEAD_FAMILY = "yolov4"

T = TypeVar("T")


class NameTable(Generic[T]):
    """``name -> object`` of one plug-in ``kind`` chosen by the config key ``key`` (e.g. ``model.neck.type``)."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        self._entries: dict[str, T] = {}

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` as ``name``; a ValueError if another object has that name."""
        old = self._entries.get(name)
        if old is not None and old is not obj:
            raise ValueError(f"{self.kind} {name!r} is already registered by {old!r}")
        self._entries[name] = obj

    def remove(self, name: str) -> None:
        """Unregister ``name``; a ValueError if it is not registered."""
        self.get(name)
        del self._entries[name]

    def get(self, name: str) -> T:
        """The object registered as ``name``; a ValueError naming the closest name and every choice otherwise."""
        if name in self._entries:
            return self._entries[name]
        close = difflib.get_close_matches(str(name), list(self._entries), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{self.key}: unknown {self.kind} {name!r}.{hint} Choose one of {self.names()}")

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries


#: ``model.neck.type`` -> the name itself (every neck reads :class:`detector.config.NeckConfig`)
NECK_TYPES: NameTable[str] = NameTable("neck", key="model.neck.type")


def register_neck_type(name: str) -> None:
    """Accept ``name`` as ``model.neck.type`` (again: nothing happens)."""
    if name not in NECK_TYPES:
        NECK_TYPES.add(name, name)


def neck_names() -> tuple[str, ...]:
    """The registered necks: the choices of ``model.neck.type``."""
    return tuple(NECK_TYPES.names())


@dataclass
class HeadConfig:
    """``model.head``, a tagged union: ``type`` names the head family (:mod:`detector.model.registry`), whose config
    class (a subclass: the built-in ones in :mod:`detector.config.head_families`) adds the family's fields and its
    ``loss`` section."""

    type: str = option(
        doc="head family: a registered name (detector/model/registry.py; each family's keys are listed under its name)",
        choices=lambda: head_family_names(),
        variants=lambda: {name: head_config_class(name) for name in head_family_names()},
    )
    prior_prob: float | None = option(
        None, doc="initial class probability (bias init); null: the family's default", range=OPEN_FRACTION
    )


H = TypeVar("H", bound=type[HeadConfig])

#: ``model.head.type`` -> the family's ``model.head`` class
HEAD_TYPES: NameTable[type[HeadConfig]] = NameTable("head family", key="model.head.type")


def register_head_config(cls: H) -> H:
    """Class decorator: accept ``cls`` (a :class:`HeadConfig` subclass) as ``model.head`` of the family named by its
    ``type`` default. Registering a name twice is an error unless it is the same class again."""
    if not (isinstance(cls, type) and issubclass(cls, HeadConfig)):
        raise TypeError(f"{cls!r} must be a HeadConfig subclass")
    HEAD_TYPES.add(cls().type, cls)
    return cls


def head_family_names() -> list[str]:
    """The registered head families (``model.head.type`` choices), sorted."""
    return HEAD_TYPES.names()


def head_config_class(type_name: str) -> type[HeadConfig]:
    """The ``model.head`` class of the head family ``type_name`` (a ValueError naming the choices if unknown)."""
    return HEAD_TYPES.get(type_name)


def default_head_config() -> HeadConfig:
    """``model.head`` when a config does not set it: the default family with its defaults."""
    return head_config_class(DEFAULT_HEAD_FAMILY)()
