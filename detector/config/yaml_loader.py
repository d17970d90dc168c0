"""Strict YAML reading for configs: a key repeated in one mapping is an error naming both lines.

PyYAML keeps the last of two equal keys without a word (``epochs: 1`` ... ``epochs: 300`` trains 300 epochs).
:func:`load_yaml_text` reads with :class:`UniqueKeyLoader`, a ``yaml.SafeLoader`` that refuses that:
``configs/a.yaml:12: key 'epochs' repeated (first at configs/a.yaml:3)``. Merge keys (``<<: *anchor``) may still be
overridden by the mapping's own keys, as YAML intends.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(ValueError):
    """A mapping in a YAML document holds one key twice; the message names the file and line of both."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises :class:`DuplicateKeyError` for a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader's own error names it
                continue
            if first is not None:
                raise DuplicateKeyError(
                    f"{_where(key_node.start_mark)}: key {key!r} repeated (first at {_where(first)}); "
                    "keep one of the two"
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _where(mark: yaml.Mark) -> str:
    """``file:line`` (1-based) of a YAML mark."""
    return f"{mark.name}:{mark.line + 1}"


def yaml_error_line(exc: yaml.YAMLError) -> str:
    """A ``yaml.YAMLError`` in one line: ``line L, column C: problem`` (PyYAML's own text spans several lines)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem or exc.context}"
    return " ".join(str(exc).split())


def load_yaml_text(text: str, name: str) -> Any:
    """Parse one YAML document (``name``: the file, as errors name it) with :class:`UniqueKeyLoader`.

    Raises :class:`DuplicateKeyError` for a repeated key and ``yaml.YAMLError`` for text that is no YAML."""
    loader = UniqueKeyLoader(text)
    loader.name = name
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
