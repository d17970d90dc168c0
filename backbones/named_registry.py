"""``Registry``: name -> builder, filled by a decorator at each builder's definition (timm's ``@register_model``).

One class for every plug-in kind of the project: backbones (:data:`backbones.registry.BACKBONES`), necks
(:data:`detector.model.neck.NECKS`) and head families (:data:`detector.model.registry.HEAD_FAMILIES`)::

    @BACKBONES.register()          # the name is the function's: "tiny_net"
    def tiny_net(pretrained=None, out_indices=(2, 3, 4), **kwargs) -> Backbone: ...

    BACKBONES.names()              # sorted names: listings, docs, config choices
    BACKBONES.get("tiny_nett")     # ValueError: unknown backbone 'tiny_nett'. Did you mean 'tiny_net'? ...

It lives in ``backbones/`` because ``backbones/`` imports nothing from ``detector/``; ``detector/`` uses it too.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
B = TypeVar("B", bound=Callable)


class Registry(Generic[T]):
    """Names -> registered objects (builders, or family objects) of one plug-in ``kind`` (e.g. ``"backbone"``).

    ``key`` is what a user sets to choose one (e.g. ``"model.neck.type"``), named in the unknown-name error."""

    def __init__(self, kind: str, key: str | None = None) -> None:
        self.kind = kind
        self.key = key
        self._entries: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[B], B]:
        """Decorator registering a function or class under ``name`` (default: its ``__name__``), returned unchanged.

        Registering a name twice is a ValueError, unless it is the same object again or an object of the same
        qualified name (a module imported a second time, e.g. by a test runner)."""

        def decorate(obj: B) -> B:
            self.add(name or obj.__name__, obj)  # type: ignore[arg-type]
            return obj

        return decorate

    def add(self, name: str, obj: T) -> T:
        """Register ``obj`` under ``name`` (the decorator's work, for callers that build ``obj`` themselves)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty str, got {name!r}")
        old = self._entries.get(name)
        if old is not None and old is not obj and not _same_definition(old, obj):
            raise ValueError(f"{self.kind} {name!r} is already registered by {_origin(old)}")
        self._entries[name] = obj
        return obj

    def remove(self, name: str) -> None:
        """Unregister ``name`` (a plug-in defined for a test or a session); a ValueError if it is not registered."""
        self.get(name)
        del self._entries[name]

    def get(self, name: str) -> T:
        """The object registered as ``name``; a ValueError naming the closest names and every choice otherwise."""
        if name in self._entries:
            return self._entries[name]
        close = difflib.get_close_matches(str(name), list(self._entries), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        where = f"{self.key}: " if self.key else ""
        raise ValueError(f"{where}unknown {self.kind} {name!r}.{hint} Choose one of {self.names()}")

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


def _origin(obj: object) -> str:
    """``module.qualname`` of a function or class, else of the object's class."""
    target = obj if hasattr(obj, "__qualname__") else type(obj)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


def _same_definition(old: object, new: object) -> bool:
    """Whether ``new`` is ``old`` defined again (same module-level name): a re-imported module, not a clash."""
    origin = _origin(old)
    return origin == _origin(new) and "<locals>" not in origin and not origin.startswith("functools.")
