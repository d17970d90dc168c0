"""README.md and docs/*.md name only things that exist: every backticked repository path (``detector/...``,
``backbones/...``, ``configs/...``, ``tools/...``, ``docs/...``, ``tests/...``) and every ``detector.*`` /
``backbones.*`` dotted name (a module, or an attribute of one)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE = re.compile(r"`([^`\n]+)`")
PATH = re.compile(r"(?<![\w./-])((?:detector|backbones|configs|tools|docs|tests)/[\w./-]*)")
NAME = re.compile(r"(?<![\w./-])((?:detector|backbones)(?:\.\w+)+)")
FILE_SUFFIXES = {"py", "md", "yaml", "json", "txt", "toml"}  # `detector.py` in a list of a folder's files
PLACEHOLDER = re.compile(r"<[^>]*>|\*|\.\.\.")  # `detector/model/heads/<family>/`, `configs/yolo_*.yaml`


def references(text: str) -> tuple[list[str], list[str]]:
    """``(paths, dotted names)`` written inside backticks in ``text`` (placeholders and globs left out)."""
    paths, names = [], []
    for code in CODE.findall(text):
        if PLACEHOLDER.search(code):
            continue
        paths += [p.split("::")[0].rstrip(".") for p in PATH.findall(code)]
        names += [n for n in NAME.findall(code) if n.rsplit(".", 1)[1] not in FILE_SUFFIXES]
    return paths, names


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` is an importable module or an attribute path below one."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_references_are_found_and_checked() -> None:
    paths, names = references(
        "`detector/model/neck.py` and `tests/test_docs.py::test_x`, `detector/model/heads/<family>/`, "
        "`from detector.model.registry import build_neck`, `backbones.nothing_here`, `x.detector.y`, `detector.py`"
    )
    assert paths == ["detector/model/neck.py", "tests/test_docs.py"]
    assert names == ["detector.model.registry", "backbones.nothing_here"]
    assert resolves("detector.model.neck.NECKS") and resolves("backbones.list_backbones")
    assert not resolves("backbones.nothing_here") and not resolves("detector.loss")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_paths_and_python_names_exist(page: Path) -> None:
    paths, names = references(page.read_text(encoding="utf-8"))
    missing = sorted({f"path {p}" for p in paths if not (ROOT / p).exists()})
    missing += sorted({f"name {n}" for n in names if not resolves(n)})
    assert not missing, f"{page.relative_to(ROOT)} names what does not exist:\n" + "\n".join(missing)
