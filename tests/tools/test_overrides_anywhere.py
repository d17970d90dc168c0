"""Every tool takes its ``key=value`` overrides anywhere on the command line: before, between and after the options
(detector/cli/parsing.py ToolParser), subcommands (benchmark) included."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from detector.cli.parsing import ToolParser

ROOT = Path(__file__).resolve().parents[2]
TOOLS = sorted(p.stem for p in (ROOT / "tools").glob("*.py"))

# tool -> (argv with options before, between and after the overrides, the overrides expected)
CASES = {
    "train": (["c.yaml", "--quiet", "train.epochs=1", "--resume", "l.pt", "data.img_size=64"],
              ["train.epochs=1", "data.img_size=64"]),
    "eval": (["c.yaml", "--weights", "w.pt", "eval.conf=0.1", "--no-progress", "eval.iou=0.5"],
             ["eval.conf=0.1", "eval.iou=0.5"]),
    "detect": (["--weights", "w.pt", "predict.conf=0.4", "--source", "i", "predict.iou=0.5", "--quiet"],
               ["predict.conf=0.4", "predict.iou=0.5"]),
    "export": (["--weights", "w.pt", "predict.conf=0.4", "--no-check", "predict.iou=0.5"],
               ["predict.conf=0.4", "predict.iou=0.5"]),
    "study": (["s.yaml", "--dry-run", "train.epochs=2", "--quiet", "data.img_size=64"],
              ["train.epochs=2", "data.img_size=64"]),
}  # fmt: skip
BENCHMARK = {
    "detector": ["detector", "c.yaml", "--device", "cpu", "train.batch_size=2", "--batch", "2", "data.img_size=64"],
    "loader": ["loader", "--size", "64", "c.yaml", "train.workers=0", "--batches", "1", "data.img_size=64"],
    "suite": ["suite", "c.yaml", "--device", "cpu", "train.batch_size=2", "--steps", "backbone", "data.img_size=64"],
}


def test_every_tool_parses_with_the_tool_parser(monkeypatch) -> None:
    built: list[str] = []

    class Stop(Exception):
        pass

    def record(self, args=None, namespace=None):
        built.append(type(self).__name__)
        raise Stop

    monkeypatch.setattr(ToolParser, "parse_known_args", record)
    for tool in TOOLS:
        built.clear()
        with pytest.raises(Stop):
            importlib.import_module(f"detector.cli.{tool}").main(["--help-not-reached"])
        assert built == ["ToolParser"], tool


@pytest.mark.parametrize("tool", sorted(CASES))
def test_overrides_after_options(tool: str) -> None:
    argv, overrides = CASES[tool]
    args = importlib.import_module(f"detector.cli.{tool}").parse_args(argv)
    assert args.overrides == overrides


@pytest.mark.parametrize("command", sorted(BENCHMARK))
def test_benchmark_subcommands_take_overrides_after_options(command: str) -> None:
    from detector.cli.benchmark import build_parser

    args = build_parser().parse_args(BENCHMARK[command])
    assert args.config == "c.yaml" and args.overrides[-1] == "data.img_size=64" and len(args.overrides) == 2
