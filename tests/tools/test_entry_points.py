"""The tools as commands: every ``tools/<tool>.py`` is a shim over ``detector.cli.<tool>.main``, which pyproject.toml's
``[project.scripts]`` installs as ``cspx-<tool>``; and no file changes the import path by hand."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = sorted(p.stem for p in (ROOT / "tools").glob("*.py"))
# sys.path.insert / .append / .extend / .remove, or an assignment to sys.path (or a slice of it)
EDITS_SYS_PATH = re.compile(r"\bsys\.path\s*(\.\s*(insert|append|extend|remove)\b|(\[[^\]]*\])?\s*\+?=(?!=))")


def _scripts() -> dict[str, str]:
    """pyproject.toml's ``[project.scripts]``: command -> ``module:function``."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]


def _command(tool: str) -> str:
    return "cspx-" + tool.replace("_", "-")


def test_every_tool_is_an_installed_command_and_every_command_a_tool() -> None:
    scripts = _scripts()
    assert sorted(scripts) == sorted(_command(t) for t in TOOLS)
    for tool in TOOLS:
        assert scripts[_command(tool)] == f"detector.cli.{tool}:main"
        module = importlib.import_module(f"detector.cli.{tool}")
        assert callable(module.main), f"detector.cli.{tool} has no callable main"


@pytest.mark.parametrize("tool", TOOLS)
def test_tools_py_is_a_shim_and_the_module_runs_as_main(tool: str) -> None:
    shim = (ROOT / "tools" / f"{tool}.py").read_text(encoding="utf-8")
    assert f"from detector.cli.{tool} import main\n" in shim
    assert 'if __name__ == "__main__":\n    sys.exit(main())\n' in shim
    assert "def " not in shim and len(shim.splitlines()) <= 12, f"tools/{tool}.py holds code: move it to detector/cli"
    module = (ROOT / "detector" / "cli" / f"{tool}.py").read_text(encoding="utf-8")
    assert module.rstrip().endswith('if __name__ == "__main__":\n    sys.exit(main())'), "python -m needs it"


def test_the_pattern_finds_path_edits() -> None:
    edits = ["sys.path.insert(0, str(ROOT))", "sys.path.append(p)", "sys.path = [p]", "sys.path[:0] = [p]"]
    edits.append("sys.path += [p]")
    assert all(EDITS_SYS_PATH.search(e) for e in edits)
    assert not any(EDITS_SYS_PATH.search(e) for e in ["if p in sys.path:", "sys.path == x", "print(sys.path[0])"])


def test_no_file_edits_sys_path() -> None:
    """The project is installed (``pip install -e .``), so ``import detector`` works from anywhere without it."""
    this = Path(__file__).resolve()
    files = [p for d in ("tools", "detector", "backbones", "tests") for p in sorted((ROOT / d).rglob("*.py"))]
    offenders = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in files
        if p.resolve() != this
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if EDITS_SYS_PATH.search(line)
    ]
    assert not offenders, "\n".join(offenders)


@pytest.mark.slow  # two subprocesses that import torch
def test_the_module_and_the_shim_run_as_commands() -> None:
    for argv in (["-m", "detector.cli.train", "--help"], [str(ROOT / "tools" / "detect.py"), "--help"]):
        proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("usage: ") and not proc.stderr
