"""The one place a config key's facts are written: its default, documentation, range and allowed values.

Every config dataclass field is declared with :func:`option`::

    epochs: int = option(300, doc="training epochs", range=AT_LEAST_1)
    optimizer: str = option("sgd", doc="sgd | adamw", choices=("sgd", "adamw"))
    type: str = option("spp_pan", doc="neck registry name", choices=lambda: NECKS.names())

``choices`` is a tuple, or a callable returning the names (a registry's, read when the config is validated, so a
newly registered plug-in is accepted without editing any table). The loader (:mod:`detector.config`), the docs
generator (:mod:`detector.config.docs`) and the tools read these facts back with :func:`option_doc`,
:func:`option_range`, :func:`option_choices` and :func:`option_variants`; nothing else lists them.

A tagged union -- a section whose ``type`` field picks a plug-in, each plug-in with its own settings beside ``type``
in the same mapping (``model.head: {type: decoupled, reg_max: 16}``) -- declares its variants on that field::

    type: str = option("yolov4", doc="head family", variants=lambda: {n: f.config for n, f in FAMILIES.items()})

``variants`` is a callable returning ``{type name: dataclass of the keys that type adds}`` (a registry's, read when
called); the field's choices are those names unless ``choices`` says otherwise. The docs generator lists each
variant's keys under its type name, and writes the default type's keys into ``configs/defaults.yaml``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from detector.config.ranges import Range

_DOC, _RANGE, _CHOICES, _VARIANTS = "doc", "range", "choices", "variants"


def option(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    factory: Callable[[], Any] | None = None,
    range: Range | None = None,  # noqa: A002 - the config vocabulary
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None,
    variants: Callable[[], Mapping[str, type]] | None = None,
) -> Any:
    """A dataclass field with its documentation, range and allowed values. ``factory`` for mutable defaults;
    ``variants`` on the ``type`` field of a tagged union (see the module docstring)."""
    meta = {_DOC: doc, _RANGE: range, _CHOICES: choices, _VARIANTS: variants}
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
    """The field's allowed values, a registry's names read now; a tagged union's variant names when the field
    declares ``variants`` and no ``choices`` (None: any value of its type)."""
    choices = f.metadata.get(_CHOICES)
    if choices is None:
        variants = option_variants(f)
        return None if variants is None else tuple(variants)
    return tuple(choices() if callable(choices) else choices)


def option_variants(f: dataclasses.Field) -> dict[str, type] | None:
    """A tagged union's ``{type name: dataclass of the keys it adds}``, read now (None: not a tagged union)."""
    variants = f.metadata.get(_VARIANTS)
    return None if variants is None else dict(variants())
