"""The one place a config key's facts are written: its default, documentation, range and allowed values.

Every config dataclass field is declared with :func:`option`::

    epochs: int = option(300, doc="training epochs", range=AT_LEAST_1)
    optimizer: str = option("sgd", doc="sgd | adamw", choices=("sgd", "adamw"))
    type: str = option("spp_pan", doc="neck registry name", choices=lambda: NECKS.names())

``choices`` is a tuple, or a callable returning the names (a registry's, read when the config is validated, so a
newly registered plug-in is accepted without editing any table). The loader, the docs generator and the tools read
these facts back with :func:`option_doc`, :func:`option_range` and :func:`option_choices`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from detector.config_ranges import Range

_DOC, _RANGE, _CHOICES = "doc", "range", "choices"


def option(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    factory: Callable[[], Any] | None = None,
    range: Range | None = None,  # noqa: A002 - the config vocabulary
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None,
) -> Any:
    """A dataclass field with its documentation, range and allowed values. ``factory`` for mutable defaults."""
    meta = {_DOC: doc, _RANGE: range, _CHOICES: choices}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def option_doc(f: dataclasses.Field) -> str:
    """The field's documentation ('' when declared without :func:`option`)."""
    return f.metadata.get(_DOC, "")


def option_range(f: dataclasses.Field) -> Range | None:
    """The field's allowed numeric range (None: any value of its type)."""
    return f.metadata.get(_RANGE)


def option_choices(f: dataclasses.Field) -> tuple[str, ...] | None:
    """The field's allowed values, a registry's names read now (None: any value of its type)."""
    choices = f.metadata.get(_CHOICES)
    if choices is None:
        return None
    return tuple(choices() if callable(choices) else choices)
