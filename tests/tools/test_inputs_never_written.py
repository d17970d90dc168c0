"""The principle, not the cases: for every tool, an output path drawn to alias one of its inputs (the same file, a
``./`` or ``..`` spelling, a symlink, a path inside an input folder or under an input file, the parent folder), with
and without ``--exist-ok``, is refused before any work (exit status 2, one guard line) and every input's bytes and
every input folder's listing stay as they were (detector/job_files.py). In-process through each tool's
``main(argv)``; the inputs are tiny placeholders, since the refusal comes before anything is read. A few examples
per tool in the fast suite, more under ``slow``."""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
TOOLS = sorted(p.stem for p in (ROOT / "tools").glob("*.py"))
GUARD = ("same file", "same folder", "lies inside", "lies under", "is a folder", "is a file", "nothing can be written")


@dataclass
class Tool:
    """``build(root) -> inputs`` lays out the tool's inputs ({label: path}); ``argv(root, out, exist_ok)`` is the
    command line writing to ``out``; ``output``: "file" or "folder"; ``folder_aliases_need_exist_ok``: a run
    folder that holds files moves on to ``out2`` (no alias), so folder inputs are aliased with --exist-ok only;
    ``exist_ok``: the tool has the flag."""

    build: Callable[[Path], dict[str, Path]]
    argv: Callable[[Path, str, bool], list[str]]
    output: str = "file"
    folder_aliases_need_exist_ok: bool = False
    exist_ok: bool = True


def _f(path: Path, data: bytes = b"placeholder") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _config(root: Path) -> dict[str, Path]:
    ann, images = _f(root / "d" / "val.json", b"{}"), root / "d" / "images"
    _f(images / "a.jpg")
    cfg = {"data": {"train": {"ann": str(ann), "images": str(images)}, "val": {"ann": str(ann), "images": str(images)}}}
    return {"CONFIG": _f(root / "c" / "config.yaml", yaml.safe_dump(cfg).encode()), "ann": ann, "images": images}


def _study(root: Path) -> dict[str, Path]:
    inputs = _config(root)
    spec = {"name": "s", "base": "config.yaml", "seeds": [0], "backbones": [{"label": "a", "name": "cspresnext50"}]}
    return {**inputs, "study": _f(root / "c" / "study.yaml", yaml.safe_dump(spec).encode())}


def _yolo(root: Path) -> dict[str, Path]:
    _f(root / "y" / "images" / "1.jpg")
    _f(root / "y" / "labels" / "1.txt", b"0 0.5 0.5 0.2 0.2\n")
    return {"images": root / "y" / "images", "labels": root / "y" / "labels", "names": _f(root / "y" / "n.txt", b"a\n")}


def _x(flag: str, exist_ok: bool) -> list[str]:
    return [flag] if exist_ok else []


TOOL_CASES: dict[str, Tool] = {
    "train": Tool(
        _config, lambda r, o, e: [str(r / "c/config.yaml"), f"train.out_dir={o}"], "folder", True, exist_ok=False
    ),
    "eval": Tool(
        _config,
        lambda r, o, e: [
            str(r / "c/config.yaml"),
            "--weights",
            str(_f(r / "w.pt")),
            "--json",
            o,
            "--out",
            str(r / "run"),
            *_x("--exist-ok", e),
        ],
    ),  # fmt: skip
    "detect": Tool(
        lambda r: {"weights": _f(r / "w.pt"), "images": _f(r / "imgs" / "a.jpg").parent},
        lambda r, o, e: ["--weights", str(r / "w.pt"), "--source", str(r / "imgs"), "--out", o, *_x("--exist-ok", e)],
        "folder",
        True,
    ),
    "export": Tool(
        lambda r: {"weights": _f(r / "w.pt")},
        lambda r, o, e: ["--weights", str(r / "w.pt"), "--out", o, *_x("--exist-ok", e)],
    ),
    "benchmark": Tool(
        _config, lambda r, o, e: ["detector", str(r / "c/config.yaml"), "--json", o, *_x("--exist-ok", e)]
    ),
    "study": Tool(_study, lambda r, o, e: [str(r / "c/study.yaml"), "--out", o, "--dry-run"], "folder", exist_ok=False),
    "make_shapes": Tool(
        lambda r: {"user file": _f(r / "mine.txt")}, lambda r, o, e: ["--out", o, *_x("--exist-ok", e)], "folder"
    ),
    "download_coco": Tool(
        lambda r: {"user file": _f(r / "mine.txt")}, lambda r, o, e: ["--out", o], "folder", False, exist_ok=False
    ),  # fmt: skip
    "check_dataset": Tool(  # no output option: the inputs given as each other (a folder as --ann, a file as --images)
        _config, lambda r, o, e: ["--ann", str(r / "d/images"), "--images", str(r / "d/val.json")]
    ),
    "yolo2coco": Tool(
        _yolo,
        lambda r, o, e: [
            "--images",
            str(r / "y/images"),
            "--names",
            str(r / "y/n.txt"),
            "--out",
            o,
            *_x("--exist-ok", e),
        ],
    ),  # fmt: skip
    "convert_darknet": Tool(
        lambda r: {"cfg": _f(r / "a.cfg", b"[net]\n"), "weights": _f(r / "a.weights"), "names": _f(r / "n.txt")},
        lambda r, o, e: [
            "--cfg",
            str(r / "a.cfg"),
            "--weights",
            str(r / "a.weights"),
            "--names",
            str(r / "n.txt"),
            "--out",
            o,
            *_x("--exist-ok", e),
        ],
    ),  # fmt: skip
}

ALIASES = ("same", "dot", "dotdot", "symlink", "inside", "under", "parent")


def alias(root: Path, target: Path, how: str, output: str) -> str | None:
    """An output path that aliases ``target`` as ``how`` says; None when that spelling does not apply."""
    folder = target.is_dir()
    if how == "same":
        return str(target)
    if how == "dot":
        return f"{target.parent}/./{target.name}"
    if how == "dotdot":
        return f"{target.parent}/../{target.parent.name}/{target.name}"
    if how == "symlink":
        link = root / f"link-{target.name}"
        if not link.is_symlink():
            link.symlink_to(target)
        return str(link)
    if how == "inside":
        return str(target / "x" / "out.json") if folder else None
    if how == "under":
        return None if folder else str(target / "out")
    return str(target.parent) if how == "parent" and output == "file" else None  # a file output over a folder


def snapshot(inputs: dict[str, Path]) -> dict[str, object]:
    """Every input file's bytes and every input folder's listing (names and bytes, recursively)."""
    seen: dict[str, object] = {}
    for path in inputs.values():
        if path.is_dir():
            seen[str(path)] = sorted((str(p), p.read_bytes() if p.is_file() else b"") for p in path.rglob("*"))
        else:
            seen[str(path)] = path.read_bytes()
    return seen


def check_tool(name: str, target_index: int, how: str, exist_ok: bool, capsys) -> None:
    tool = TOOL_CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = tool.build(root)
        targets = sorted(inputs.values())
        target = targets[target_index % len(targets)]
        exist_ok = exist_ok and tool.exist_ok
        out = alias(root, target, how, tool.output)
        if out is None or (target.is_dir() and tool.folder_aliases_need_exist_ok and not exist_ok and how != "inside"):
            out = str(target / "out") if target.is_file() else str(target / "x")  # under a file / inside a folder
        before = snapshot(inputs)
        module = importlib.import_module(f"detector.cli.{name}")
        capsys.readouterr()
        code = module.main(tool.argv(root, out, exist_ok))
        err = capsys.readouterr().err
        assert code == 2, (name, how, out, err)
        assert "Traceback" not in err and any(g in err for g in GUARD), (name, how, out, err)
        assert snapshot(inputs) == before, (name, how, out)


def test_every_tool_has_a_case() -> None:
    assert sorted(TOOL_CASES) == TOOLS


draws = dict(target_index=st.integers(0, 5), how=st.sampled_from(ALIASES), exist_ok=st.booleans())
fast = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
thorough = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("name", sorted(TOOL_CASES))
@fast
@given(**draws)
def test_an_output_aliasing_an_input_is_refused_and_nothing_is_written(name, target_index, how, exist_ok, capsys):
    check_tool(name, target_index, how, exist_ok, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TOOL_CASES))
@thorough
@given(**draws)
def test_many_aliases_per_tool(name, target_index, how, exist_ok, capsys):
    check_tool(name, target_index, how, exist_ok, capsys)
