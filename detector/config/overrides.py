"""Overrides that collide: the same key given twice (``train.epochs=1 train.epochs=2``), or a section and a key in
it (``train={epochs: 1}`` and ``train.epochs=2``). The later one wins, as when applied in order; these helpers say
so, naming the key, every value given and the value used, instead of dropping the others without a word. A mapping
given for a section sets only the keys it names (``train.epochs=5 train={batch_size: 4}`` keeps epochs 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml


def parse_override(override: str) -> tuple[str, Any]:
    """``"a.b=value"`` -> ``("a.b", value)``: the value read as YAML (numbers, true/false, null, [lists], {maps}),
    an empty value as ``""``, text that is no valid YAML as it is. The caller checks that ``=`` is present."""
    key, raw = override.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _leaves(key: str, value: Any) -> dict[str, Any]:
    """The dotted keys a value sets: a mapping sets each of its leaves, anything else the key itself."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(f"{key}.{k}", v))
        return out
    return {key: value}


def override_collisions(overrides: Sequence[str]) -> list[str]:
    """One message per key that several overrides set.

    Overrides are taken in order, as :func:`detector.config.config_from_dict` applies them: a later value replaces an
    earlier one; a section given as a mapping (``train={...}``) sets each key it names.
    """
    given: dict[str, list[tuple[str, Any]]] = {}  # leaf key -> [(override text, value)] in order
    messages = []
    for text in overrides:
        if "=" not in text:
            continue  # the caller reports a malformed override
        key, value = parse_override(text)
        for leaf, v in _leaves(key, value).items():
            given.setdefault(leaf, []).append((text, v))
    for leaf, settings in given.items():
        if len(settings) > 1:
            values = ", ".join(f"{v!r} (from '{t}')" if t.split("=", 1)[0].strip() != leaf else t for t, v in settings)
            messages.append(
                f"command-line override '{leaf}' is given {len(settings)} times ({values}); "
                f"the last one is used: {leaf}={settings[-1][1]!r}"
            )
    return messages
