"""The house drawn from the code: the import graph of ``detector/`` and ``backbones/`` (from the AST, every import
a module runs, at module level or inside a function, except those under ``if TYPE_CHECKING:``) has no circle, no
arrow from a lower room up to a higher one (the order of docs/ARCHITECTURE.md, "Rooms"), at most 10 files at the top
of ``detector/``, nothing outside ``detector/cli/`` importing it, and every ``detector.*`` / ``backbones.*`` import in
the repository names a module that exists here (an old name would otherwise resolve to another installed copy).

A package's ``__init__`` that its submodules run first is not an arrow here (``detector.config`` re-exports
``detector.config.sections``; the sections module importing ``detector.config.schema`` is not a circle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backbones", "detector")

# Lowest first: a module may import its own room and the rooms before it, never one after it. A room is a package
# prefix; a module belongs to the longest prefix that matches ("detector" alone: the loose files at the top).
ROOMS = [
    "backbones",
    "detector",  # the loose files: boxes, coco_fields, device, output_files, job_files
    "detector.config",
    "detector.model",
    "detector.data",
    "detector.track",
    "detector.engine",  # run_folder, interrupt: shared by the engine's rooms
    "detector.runtime",
    "detector.engine.evaluation",
    "detector.engine.prediction",
    "detector.engine.training",
    "detector.engine.jobs",
    "detector.darknet",
    "detector.bench",
    "detector.study",
    "detector.api",
    "detector.__init__",  # the public API (detector/__init__.py)
    "detector.cli",
]
MAX_TOP_FILES = 10


def module_files() -> dict[str, Path]:
    """``dotted name -> file`` of every module of PACKAGES (a package under its own name)."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def imported_names(path: Path, module: str) -> tuple[set[str], set[str]]:
    """The dotted names ``path`` imports outside TYPE_CHECKING: ``(modules, maybe)``; ``import a.b`` and the ``a`` of
    ``from a import b`` are modules, the ``a.b`` of ``from a import b`` may be a module or a name in ``a``."""
    found: set[str] = set()
    maybe: set[str] = set()
    is_pkg = path.name == "__init__.py"

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _type_checking(node):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = module.split(".") if is_pkg else module.split(".")[:-1]
                    pkg = pkg[: len(pkg) - node.level + 1]
                    base = ".".join([*pkg, base] if base else pkg)
                found.add(base)
                maybe.update(f"{base}.{a.name}" for a in node.names)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])
                elif isinstance(child, ast.excepthandler):
                    visit(child.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found, maybe


def import_graph() -> dict[str, set[str]]:
    """``module -> the modules of PACKAGES it imports`` (``from pkg import name``: the submodule when it is one)."""
    files = module_files()
    graph = {}
    for mod, path in files.items():
        modules, maybe = imported_names(path, mod)
        targets = {name for name in modules | maybe if name in files}
        graph[mod] = {t for t in targets if t != mod and not mod.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def room(module: str) -> int:
    """The position in ROOMS of ``module``'s room."""
    if module == "detector":
        return ROOMS.index("detector.__init__")
    best = max((r for r in ROOMS if module == r or module.startswith(r + ".")), key=len)
    return ROOMS.index(best)


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{a} ({ROOMS[room(a)]}) -> {b} ({ROOMS[room(b)]})" for a, bs in graph.items() for b in bs if room(b) > room(a)
    )


def test_no_import_circle() -> None:
    found = cycles(import_graph())
    assert not found, "import circles (move the pieces so the arrows go one way):\n" + "\n".join(map(str, found))


def test_no_arrow_from_a_lower_room_up() -> None:
    found = upward_arrows(import_graph())
    assert not found, "imports from a lower room up to a higher one (ROOMS):\n" + "\n".join(found)


def test_every_module_has_a_room_and_every_package_is_one() -> None:
    files = module_files()
    assert all(0 <= room(m) < len(ROOMS) for m in files)
    subpackages = {m for m, p in files.items() if p.name == "__init__.py" and m.count(".") == 1}
    assert subpackages - set(ROOMS) <= set(), f"packages without a room in ROOMS: {sorted(subpackages - set(ROOMS))}"


def test_at_most_ten_files_at_the_top_of_detector() -> None:
    top = sorted(p.name for p in (ROOT / "detector").glob("*.py"))
    assert len(top) <= MAX_TOP_FILES, f"{len(top)} files at the top of detector/: {top}"


def test_nothing_outside_cli_imports_cli() -> None:
    graph = import_graph()
    found = sorted(f"{a} -> {b}" for a, bs in graph.items() for b in bs if b.startswith("detector.cli"))
    found = [f for f in found if not f.startswith("detector.cli")]
    assert not found, "only detector/cli/ imports detector.cli:\n" + "\n".join(found)


@pytest.mark.parametrize("folder", ["backbones", "detector", "tests", "tools"])
def test_every_project_import_names_a_module_here(folder: str) -> None:
    files = module_files()
    missing = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT)
        parts = list(rel.with_suffix("").parts)
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules, _ = imported_names(path, mod)  # ``from pkg import attr``: pkg is among the modules
        missing += [f"{rel}: {n}" for n in sorted(modules) if n.split(".")[0] in PACKAGES and n not in files]
    assert not missing, "imports of modules that do not exist here:\n" + "\n".join(missing)


def test_the_checks_find_a_circle_and_an_upward_arrow() -> None:
    graph = {"detector.boxes": {"detector.model.layers"}, "detector.model.layers": {"detector.boxes"}}
    assert cycles(graph) == [["detector.boxes", "detector.model.layers"]]
    assert upward_arrows(graph) == ["detector.boxes (detector) -> detector.model.layers (detector.model)"]
    assert room("detector.engine.run_folder") < room("detector.runtime.loader") < room("detector.engine.jobs.train")
    assert room("detector") == ROOMS.index("detector.__init__") and room("detector.device") == 1
