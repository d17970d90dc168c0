"""Every ```python block of README.md and docs/*.md runs, on fixtures this test makes, and user code imports only the
public API (``detector``, ``backbones``).

The fixtures stand in for what the docs assume a user has, at the paths the docs name: a small checkpoint at
``runs/shapes_tiny/weights/best.pt`` (random weights, 6 classes like the shapes set), a small synthetic shapes set in
``data/shapes`` with ``predictions.json`` made from its val split and an 8-frame tracking video, the repository's
``configs/`` with ``configs/shapes_tiny.yaml`` shrunk to that set (64 px, one epoch, float32 on the CPU). Each
snippet runs in a fresh copy of them as its working directory.

A comment on the line before a block says how to treat it (``<!-- snippet: KIND[, KIND] (reason) -->``):
``skip`` (needs COCO, a GPU or downloaded weights: skipped with the reason), ``slow`` (runs only with the slow
tests), ``internal`` (shows a module below the public API, which may move between releases: allowed to import it).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, write_tiny_checkpoint

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```", re.S | re.M)
MARKER = re.compile(r"<!--\s*snippet:\s*([a-z, ]+?)\s*(?:\((.+?)\))?\s*-->")
KINDS = ("skip", "slow", "internal")
PUBLIC = ("detector", "backbones")  # the packages a user imports; their submodules are internal


@dataclass(frozen=True)
class Snippet:
    """One ```python block: its page, first line number, code and the kinds/reason of the comment before it."""

    page: str
    line: int
    code: str
    kinds: tuple[str, ...]
    reason: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _marker_before(text: str, start: int) -> tuple[tuple[str, ...], str]:
    """The kinds and reason of a snippet comment on the last non-blank line before ``start``."""
    before = [line for line in text[:start].splitlines() if line.strip()]
    match = MARKER.fullmatch(before[-1].strip()) if before else None
    if match is None:
        return (), ""
    return tuple(k.strip() for k in match.group(1).split(",") if k.strip()), match.group(2) or ""


def collect(page: Path) -> list[Snippet]:
    text = page.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        kinds, reason = _marker_before(text, m.start())
        line = text.count("\n", 0, m.start()) + 2  # the first line of code
        out.append(Snippet(str(page.relative_to(ROOT)), line, m.group(1), kinds, reason))
    return out


SNIPPETS = [s for page in PAGES for s in collect(page)]


def internal_imports(code: str) -> list[str]:
    """The modules below ``detector`` / ``backbones`` that ``code`` imports (``detector.config``, ...)."""
    names = []
    for node in ast.walk(ast.parse(code)):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        names += [m for m in modules if m.split(".")[0] in PUBLIC and m not in PUBLIC]
    return names


def test_the_docs_have_snippets_and_the_readme_shows_the_public_api() -> None:
    readme = [s for s in SNIPPETS if s.page == "README.md"]
    assert readme and "detector.load(" in readme[0].code and "internal" not in readme[0].kinds
    assert len(SNIPPETS) >= 10


def test_snippet_comments_are_well_formed() -> None:
    """Every snippet comment names known kinds, a skip says why, and each comment sits right before a block."""
    problems = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r"<!--\s*snippet:.*?-->", text):
            rest = text[m.end() :].lstrip("\n")
            line = text.count("\n", 0, m.start()) + 1
            marker = MARKER.fullmatch(m.group(0))
            kinds = [k.strip() for k in marker.group(1).split(",")] if marker else ["?"]
            if any(k not in KINDS for k in kinds):
                problems.append(f"{page.name}:{line}: kinds {kinds}, known: {', '.join(KINDS)}")
            elif "skip" in kinds and not marker.group(2):  # type: ignore[union-attr]
                problems.append(f"{page.name}:{line}: a skip needs its reason: <!-- snippet: skip (needs COCO) -->")
            if not rest.startswith("```python"):
                problems.append(f"{page.name}:{line}: the comment is not followed by a ```python block")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("snippet", [s for s in SNIPPETS if "internal" not in s.kinds], ids=lambda s: s.id)
def test_user_snippets_import_only_the_public_api(snippet: Snippet) -> None:
    found = internal_imports(snippet.code)
    assert not found, (
        f"{snippet.id} imports {found}: user code imports from `detector` / `backbones` only (add the name to the "
        "public API, or mark the block <!-- snippet: internal (why) -->)"
    )


def test_internal_imports_are_found() -> None:
    code = "import detector\nfrom detector import load\nfrom detector.config import X\nimport backbones.registry\n"
    assert internal_imports(code) == ["detector.config", "backbones.registry"]


@pytest.fixture(scope="module")
def user_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the docs assume a user has, at the paths they name (see the module docstring)."""
    from detector.data.synthetic.shapes import make_shapes
    from detector.data.synthetic.shapes_video import make_shapes_video

    root = tmp_path_factory.mktemp("user")
    shutil.copytree(ROOT / "configs", root / "configs")
    tiny = yaml.safe_load((ROOT / "configs" / "shapes_tiny.yaml").read_text())
    tiny["data"].update(shapes={"root": "data/shapes", "num_train": 4, "num_val": 4, "img_size": 64, "seed": 0})
    tiny["data"]["img_size"] = 64
    tiny["train"].update(epochs=1, batch_size=4, nominal_batch_size=4, workers=0, amp=False, eval_interval=1)
    tiny["eval"] = {"batch_size": 4}
    (root / "configs" / "shapes_tiny.yaml").write_text(yaml.safe_dump(tiny, sort_keys=False))
    make_shapes(root / "data" / "shapes", num_train=4, num_val=4, img_size=64, seed=0)
    make_shapes_video(root / "data" / "shapes" / "video" / "shapes.mp4", num_frames=8, size=64, num_objects=3)
    (root / "runs" / "shapes_tiny" / "weights").mkdir(parents=True)
    write_tiny_checkpoint(root / "runs" / "shapes_tiny" / "weights" / "best.pt", num_classes=6)
    gt = json.loads((root / "data" / "shapes" / "val.json").read_text())
    preds = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.5 + 0.1 * (i % 5)}
        for i, a in enumerate(gt["annotations"])
    ]
    (root / "predictions.json").write_text(json.dumps(preds))
    return root


def _params() -> list:
    params = []
    for s in SNIPPETS:
        marks = []
        if "skip" in s.kinds:
            marks.append(pytest.mark.skip(reason=s.reason))
        elif "slow" in s.kinds:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(s, id=s.id, marks=marks))
    return params


@pytest.mark.parametrize("snippet", _params())
def test_snippet_runs(snippet: Snippet, user_files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    shutil.copytree(user_files, work, symlinks=True)
    monkeypatch.chdir(work)
    code = compile(snippet.code, snippet.id, "exec")
    exec(code, {"__name__": "__snippet__"})
