"""Writes the config reference from the config dataclasses (:mod:`detector.config`), the one place it is declared.

    python -m detector.config.docs           # rewrite the generated files that are out of date
    python -m detector.config.docs --check   # exit 1 naming the generated files that are out of date

Generated: ``configs/defaults.yaml`` (every key with its default and a comment: documentation, allowed values),
``docs/CONFIG.md`` (per section a table of key, type, default, allowed values, documentation) and the README's table
of the main keys (:data:`README_KEYS`) between ``<!-- config-keys:begin -->`` and ``<!-- config-keys:end -->``.
Everything else in README.md is left as it is. A section is a field whose type is a dataclass (or a dataclass or
null: an optional section, null by default); a tagged union (a ``type`` field declared with
``option(..., variants=...)``, see :mod:`detector.config.schema`) lists each variant's keys under its type name.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from detector.config import Config, section_type, type_name
from detector.config.schema import option_choices, option_doc, option_range, option_variants

ROOT = Path(__file__).resolve().parents[2]  # the repository root (this file: detector/config/docs.py)
DEFAULTS_YAML = Path("configs/defaults.yaml")
CONFIG_MD = Path("docs/CONFIG.md")
README = Path("README.md")
BEGIN, END = "<!-- config-keys:begin -->", "<!-- config-keys:end -->"
REGENERATE = "python -m detector.config.docs"

# The keys of the README's compact table: what a first run or a fine-tune sets; docs/CONFIG.md has all of them.
README_KEYS = (
    "model.backbone.name",
    "model.backbone.pretrained",
    "model.backbone.frozen_stages",
    "model.neck.widths",
    "model.head.type",
    "model.num_classes",
    "model.input_norm",
    "data.format",
    "data.train.ann",
    "data.train.images",
    "data.val.ann",
    "data.val.images",
    "data.shapes",
    "data.img_size",
    "data.augment.mosaic",
    "train.epochs",
    "train.batch_size",
    "train.device",
    "train.out_dir",
    "train.weights",
    "train.resume",
    "train.optimizer",
    "train.lr",
    "train.amp",
    "eval.conf",
    "eval.iou",
    "predict.conf",
    "predict.iou",
    "predict.img_size",
)


@dataclass(frozen=True)
class Key:
    """One config key: dotted ``path``, type as the loader names it, default value, documentation, allowed values."""

    path: str
    type: str
    default: Any
    doc: str
    allowed: str  # "in [0, 1]", "one of: sgd, adamw", "each >= 1" (list elements), "" (any value of its type)


@dataclass(frozen=True)
class Section:
    """A mapping of keys and sections, in declaration order. ``optional``: null by default (a mapping given for it
    holds ``items``, their defaults shown); ``variants``: a tagged union's ``(type name, section of the keys that
    type adds beside type)``."""

    path: str  # "" for the top level
    doc: str
    optional: bool
    items: tuple[Key | Section, ...]
    variants: tuple[tuple[str, Section], ...] = ()


def describe(cls: type, path: str = "", doc: str = "", instance: Any = None, optional: bool = False) -> Section:
    """The :class:`Section` of dataclass ``cls`` at ``path``, defaults read from ``instance`` (None: ``cls()``)."""
    values = instance if instance is not None else cls()
    hints = typing.get_type_hints(cls)
    items: list[Key | Section] = []
    variants: tuple[tuple[str, Section], ...] = ()
    for f in dataclasses.fields(cls):
        key = f"{path}.{f.name}" if path else f.name
        declared = f
        tp, value = hints[f.name], getattr(values, f.name)
        sub = section_type(tp)
        if isinstance(sub, type) and dataclasses.is_dataclass(sub):
            items.append(describe(sub, key, option_doc(declared), value, optional=value is None))
            continue
        items.append(Key(key, type_name(tp), value, option_doc(declared), _allowed(declared, tp)))
        found = option_variants(declared)
        if found:
            variants = tuple((name, describe(vcls, path, f"{key}: {name}")) for name, vcls in found.items())
    return Section(path, doc, optional, tuple(items), variants)


def _allowed(declared: dataclasses.Field, tp: Any) -> str:
    choices = option_choices(declared)
    if choices is not None:
        return "one of: " + ", ".join(choices)
    allowed = option_range(declared)
    if allowed is None:
        return ""
    members = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    listed = any(typing.get_origin(m) is list for m in members)
    return ("each " if listed else "") + allowed.describe()


def flatten(section: Section) -> dict[str, Key | Section]:
    """Every key and section below ``section`` by dotted path (variants' keys not included)."""
    out: dict[str, Key | Section] = {}
    for item in section.items:
        out[item.path] = item
        if isinstance(item, Section):
            out.update(flatten(item))
    return out


def yaml_value(value: Any) -> str:
    """``value`` as one line of YAML that loads back equal (flow style lists, ``null``, quoted where needed)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, sort_keys=False).strip()
    return text.removesuffix("...").strip()


def _comment(*parts: str) -> str:
    text = "; ".join(p for p in parts if p)
    return f"  # {text}" if text else ""


def _name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


# configs/defaults.yaml


def _yaml_lines(section: Section, depth: int) -> list[str]:
    pad = "  " * depth
    lines: list[str] = []
    for item in section.items:
        if isinstance(item, Key):
            lines.append(f"{pad}{_name(item.path)}: {yaml_value(item.default)}{_comment(item.doc, item.allowed)}")
        elif item.optional:
            lines.append(f"{pad}{_name(item.path)}: null{_comment(item.doc, 'a mapping takes these keys')}")
            lines += [f"{pad}#   {line}" for line in _yaml_lines(item, 0)]
        else:
            lines.append(f"{pad}{_name(item.path)}:{_comment(item.doc)}")
            lines += _yaml_lines(item, depth + 1)
    chosen = next((i.default for i in section.items if isinstance(i, Key) and _name(i.path) == "type"), None)
    written = {_name(i.path) for i in section.items}
    for name, variant in section.variants:
        if name == chosen:  # the keys it adds; those of the section itself (type, ...) are written above, once
            added = tuple(i for i in variant.items if _name(i.path) not in written)
            lines += _yaml_lines(dataclasses.replace(variant, items=added), depth)
        else:
            lines.append(f"{pad}# with type: {name}, these keys instead:")
            lines += [f"{pad}# {line}" for line in _yaml_lines(variant, 0)]
    return lines


def defaults_yaml(root: type = Config) -> str:
    """configs/defaults.yaml: every key of ``root`` with its default, documentation and allowed values."""
    header = [
        "# Every configuration key with its default value (the defaults of detector/config/sections.py), documented.",
        f"# Generated from the dataclasses of detector/config/sections.py by `{REGENERATE}`: "
        "edit those, not this file.",
        "# Other configs start from a file with `base: FILE` and override only what differs;",
        "# any key can also be overridden on the command line: key.sub=value (e.g. train.epochs=10).",
        "# Relative paths are relative to the directory you run the tools from (the repository root).",
        "# The reference with types and allowed values: docs/CONFIG.md.",
        "",
    ]
    return "\n".join(header + _yaml_lines(describe(root), 0)) + "\n"


# docs/CONFIG.md


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(items: tuple[Key | Section, ...]) -> list[str]:
    rows = ["| key | type | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"]
    for item in items:
        if isinstance(item, Key):
            cells = [f"`{item.path}`", item.type, f"`{yaml_value(item.default)}`", item.allowed, item.doc]
        else:
            default = "`null`" if item.optional else "see below"
            cells = [f"`{item.path}`", "mapping or null" if item.optional else "mapping", default, "", item.doc]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


def _md_lines(section: Section, depth: int) -> list[str]:
    lines = [f"{'#' * min(depth + 1, 6)} `{section.path}`", ""]
    if section.doc:
        lines += [section.doc[0].upper() + section.doc[1:] + ".", ""]
    if section.optional:
        lines += ["Null by default; a mapping given for it holds these keys (their defaults shown).", ""]
    lines += [*_table(section.items), ""]
    for name, variant in section.variants:
        lines += [f"With `type: {name}`, `{section.path}` also takes:", "", *_table(variant.items), ""]
        lines += [line for sub in variant.items if isinstance(sub, Section) for line in _md_lines(sub, depth + 1)]
    for item in section.items:
        if isinstance(item, Section):
            lines += _md_lines(item, depth + 1)
    return lines


def config_md(root: type = Config) -> str:
    """docs/CONFIG.md: per section, a table of its keys (type, default, allowed values, meaning)."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from the dataclasses of `detector/config/sections.py` by `python -m detector.config.docs`: "
        "do not edit",
        "(a test fails when this file is out of date). Every key is declared once there with `option(default,",
        "doc=..., range=..., choices=...)` (`detector/config/schema.py`); the loader checks each value against that",
        "declaration, and `configs/defaults.yaml` lists every key with its default. A config file starts from another",
        "with `base: other.yaml`; any key can be set on the command line as `key.sub=value`. A choice list read from a",
        "registry (`model.neck.type`, `model.head.type`) grows when a plug-in registers a new name.",
        "",
    ]
    top = describe(root)
    for item in top.items:
        lines += _md_lines(item, 1) if isinstance(item, Section) else []
    return "\n".join(lines).rstrip("\n") + "\n"


# README.md


def readme_table(root: type = Config, keys: tuple[str, ...] = README_KEYS) -> str:
    """The README's compact table of ``keys`` (default and meaning), without the markers."""
    found = flatten(describe(root))
    rows = ["| key | default | meaning |", "| --- | --- | --- |"]
    for path in keys:
        item = found[path]
        if isinstance(item, Key):
            default, meaning = yaml_value(item.default), "; ".join(p for p in (item.doc, item.allowed) if p)
        else:
            default, meaning = "null" if item.optional else "(section)", item.doc
        rows.append(f"| `{path}` | `{default}` | {_cell(meaning)} |")
    return "\n".join(rows) + "\n"


def with_readme_table(readme: str, table: str) -> str:
    """``readme`` with the text between the config-keys markers replaced by ``table``; ValueError without them."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md needs the markers {BEGIN} and {END} (in that order) around the config key table")
    return readme[: start + len(BEGIN)] + "\n" + table + readme[end:]


# the command


def generated(root_dir: Path = ROOT) -> dict[Path, str]:
    """What each generated file (relative to ``root_dir``) should hold."""
    readme = (root_dir / README).read_text(encoding="utf-8")
    return {
        DEFAULTS_YAML: defaults_yaml(),
        CONFIG_MD: config_md(),
        README: with_readme_table(readme, readme_table()),
    }


def stale_files(root_dir: Path = ROOT) -> list[Path]:
    """The generated files under ``root_dir`` whose text differs from what the dataclasses give."""
    out = []
    for rel, text in generated(root_dir).items():
        path = root_dir / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(rel)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming the stale files")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    try:
        stale = stale_files(args.root)
    except (OSError, ValueError) as e:
        print(f"config_docs: {e}", file=sys.stderr)
        return 2
    if args.check:
        if stale:
            names = ", ".join(str(p) for p in stale)
            print(f"config_docs: out of date: {names}; run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    texts = generated(args.root)
    for rel in stale:
        (args.root / rel).write_text(texts[rel], encoding="utf-8")
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
