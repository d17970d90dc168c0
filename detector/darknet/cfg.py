"""Darknet ``.cfg`` files: parse into sections (with line numbers) and render sections back to text.

A cfg is a list of ``[type]`` sections with ``key=value`` lines; ``#`` and ``;`` start comments. The first section
is ``[net]`` (input size, training settings); every other section is a layer, numbered from 0 in file order (the
numbers ``[route] layers=`` and ``[shortcut] from=`` refer to).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

T = TypeVar("T")


class DarknetCfgError(ValueError):
    """A cfg file cannot be read, or describes layers this project does not build; the message names the line."""


@dataclass
class Section:
    """One ``[type]`` section: ``index`` is the layer number (-1 for ``[net]``), ``line`` the 1-based line of its
    header, ``options`` the ``key -> value`` strings (spaces removed) and ``lines`` the line of each key."""

    type: str
    index: int
    line: int
    options: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def where(self, source: str, key: str | None = None) -> str:
        """``'FILE line N, section [type] #i'`` (the key's line when ``key`` is given and present)."""
        line = self.lines.get(key, self.line) if key else self.line
        label = f"[{self.type}]" if self.index < 0 else f"[{self.type}] (layer {self.index})"
        return f"{source} line {line}, section {label}"

    def get_int(self, key: str, default: int, source: str) -> int:
        """Option ``key`` as an int (``default`` when absent); a non-integer value is an error naming the line."""
        if key not in self.options:
            return default
        try:
            return int(self.options[key])
        except ValueError:
            raise DarknetCfgError(f"{self.where(source, key)}: {key}={self.options[key]!r} is not an integer") from None

    def get_float(self, key: str, default: float, source: str) -> float:
        """Option ``key`` as a float (``default`` when absent)."""
        if key not in self.options:
            return default
        try:
            return float(self.options[key])
        except ValueError:
            raise DarknetCfgError(f"{self.where(source, key)}: {key}={self.options[key]!r} is not a number") from None

    @overload
    def get_list(self, key: str, source: str) -> list[int]: ...

    @overload
    def get_list(self, key: str, source: str, kind: Callable[[str], T]) -> list[T]: ...

    def get_list(self, key: str, source: str, kind: Callable[[str], Any] = int) -> list[Any]:
        """Option ``key`` as a comma-separated list of ``kind`` (int by default; empty when absent)."""
        raw = self.options.get(key, "")
        try:
            return [kind(v) for v in raw.split(",") if v != ""]
        except ValueError:
            raise DarknetCfgError(f"{self.where(source, key)}: {key}={raw!r} is not a list of numbers") from None


def parse_cfg(text: str, source: str = "cfg") -> tuple[Section, list[Section]]:
    """Parse cfg text into ``([net] section, layer sections)``. ``source`` names the file in error messages."""
    net: Section | None = None
    layers: list[Section] = []
    current: Section | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise DarknetCfgError(f"{source} line {lineno}: malformed section header {raw.strip()!r}")
            kind = line[1:-1].strip().lower()
            if kind in ("net", "network"):
                if net is not None or layers:
                    raise DarknetCfgError(f"{source} line {lineno}: [{kind}] must be the first section, once")
                current = net = Section("net", -1, lineno)
            else:
                if net is None:
                    raise DarknetCfgError(f"{source} line {lineno}: the first section must be [net], got [{kind}]")
                current = Section(kind, len(layers), lineno)
                layers.append(current)
            continue
        if current is None:
            raise DarknetCfgError(f"{source} line {lineno}: {raw.strip()!r} comes before any [section]")
        if "=" not in line:
            raise DarknetCfgError(f"{source} line {lineno}: expected key=value, got {raw.strip()!r}")
        key, value = line.split("=", 1)
        key, value = key.strip().lower(), "".join(value.split())
        if key in current.options:
            raise DarknetCfgError(f"{current.where(source)}: key {key!r} given twice (line {lineno})")
        current.options[key], current.lines[key] = value, lineno
    if net is None:
        raise DarknetCfgError(f"{source}: no [net] section; is this a darknet .cfg file?")
    if not layers:
        raise DarknetCfgError(f"{source}: no layers after [net]")
    return net, layers


def read_cfg(path: str | Path) -> tuple[Section, list[Section]]:
    """Read and parse a ``.cfg`` file (errors name the file and line)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"darknet cfg not found: {path}")
    return parse_cfg(path.read_text(encoding="utf-8", errors="replace"), str(path))


def render_cfg(net_options: Mapping[str, object], layers: Sequence[tuple[str, Mapping[str, object]]]) -> str:
    """Cfg text from ``[net]`` options and ``(type, options)`` layers; lists are written comma-separated."""

    def fmt(value: object) -> str:
        if isinstance(value, (list, tuple)):
            return ",".join(fmt(v) for v in value)
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    blocks = ["[net]\n" + "".join(f"{k}={fmt(v)}\n" for k, v in net_options.items())]
    for kind, options in layers:
        blocks.append(f"[{kind}]\n" + "".join(f"{k}={fmt(v)}\n" for k, v in options.items()))
    return "\n".join(blocks)
