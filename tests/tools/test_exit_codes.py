"""One exit-status convention for every tool (detector/cli/exit_codes.py, docs/CLI.md "Exit status"): the values,
Ctrl-C anywhere in any tool (130, one line, no traceback), and the library errors each tool maps to 1 or 2.

All in-process through ``detector.cli.<tool>.main`` with the library call it makes replaced (no model, no data).
The rejections (exit 2) are tests/tools/test_bad_inputs.py; detect's "no readable image" (exit 1) is
tests/tools/test_detect_tool.py; check_dataset's fatal findings (exit 1) are there and in tests/data/test_doctor.py.
"""

from __future__ import annotations

import importlib
import signal
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from detector.cli import exit_codes
from detector.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE
from detector.engine import interrupt
from tests.helpers import write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[2]
TOOLS = sorted(p.stem for p in (ROOT / "tools").glob("*.py"))


def test_the_values_and_their_one_definition() -> None:
    assert (EXIT_OK, EXIT_FAILED, EXIT_USAGE) == (0, 1, 2)
    assert (EXIT_SIGINT, EXIT_SIGTERM) == (128 + signal.SIGINT, 128 + signal.SIGTERM) == (130, 143)
    assert not [name for name in vars(interrupt) if name.startswith("EXIT_")], "exit statuses live in exit_codes.py"


def _raise(exc: BaseException):
    def fake(*args, **kwargs):
        raise exc

    return fake


def _main(tool: str):
    return importlib.import_module(f"detector.cli.{tool}").main


# tool -> (module whose attribute is replaced, attribute, argv that reaches it): the first library call of the run
FIRST_CALL = {
    "benchmark": ("detector.cli.benchmark", "bench_eval", ["eval"]),
    "check_dataset": ("detector.cli.check_dataset", "check_inputs", ["--yolo", "imgs", "--names", "n.txt"]),
    "convert_darknet": ("detector.darknet", "convert_darknet", ["--cfg", "a.cfg", "--weights", "a.wts", "--out", "o"]),
    "detect": ("detector.cli.detect", "run_detection", ["--weights", "w.pt", "--source", "imgs"]),
    "download_coco": ("detector.cli.download_coco", "download_coco", ["--out", "{tmp}/coco"]),
    "eval": ("detector.cli.eval", "run_evaluation", ["--gt", "gt.json", "--pred", "p.json"]),
    "export": ("detector.cli.export", "run_export", ["--weights", "w.pt"]),
    "make_shapes": ("detector.cli.make_shapes", "make_shapes", ["--out", "{tmp}/shapes"]),
    "study": ("detector.cli.study", "run_study", ["study.yaml"]),
    "train": ("detector.cli.train", "load_config", ["c.yaml"]),
    "yolo2coco": ("detector.cli.yolo2coco", "yolo_to_coco", ["--images", "i", "--names", "n", "--out", "o.json"]),
}  # fmt: skip


def _run_with(tool: str, exc: BaseException, monkeypatch, tmp_path: Path) -> int:
    module, attr, argv = FIRST_CALL[tool]
    monkeypatch.setattr(importlib.import_module(module), attr, _raise(exc))
    return _main(tool)([a.replace("{tmp}", str(tmp_path)) for a in argv])


def test_every_tool_has_a_row() -> None:
    assert sorted(FIRST_CALL) == TOOLS


@pytest.mark.parametrize("tool", TOOLS)
def test_ctrl_c_exits_130_with_one_line_and_no_traceback(tool: str, monkeypatch, tmp_path: Path, capsys) -> None:
    assert _run_with(tool, KeyboardInterrupt(), monkeypatch, tmp_path) == EXIT_SIGINT
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "interrupted" in err, err


# (tool, what its library call raises, exit status)
ERRORS = [
    ("eval", RuntimeError("COCO evaluation with pycocotools failed: boom"), EXIT_FAILED),  # the work failed
    ("eval", ValueError("result #1: 'score' must be in [0, 1], got 5.0"), EXIT_USAGE),  # a bad input file
    ("download_coco", OSError("connection reset"), EXIT_FAILED),
    ("download_coco", RuntimeError("train2017.zip is not a valid zip (interrupted download?)"), EXIT_FAILED),
    ("check_dataset", FileNotFoundError("YOLO images not found: imgs"), EXIT_USAGE),  # was a traceback
    ("yolo2coco", ValueError("a.txt:2: class id 7 is outside the 3 names"), EXIT_USAGE),
    ("convert_darknet", ValueError("a.cfg: not a CSPResNeXt50-PANet-SPP layout"), EXIT_USAGE),
    ("convert_darknet", RuntimeError("darknet layout does not cover ['neck.x'] of the model"), EXIT_FAILED),
]


@pytest.mark.parametrize(("tool", "exc", "code"), ERRORS, ids=[f"{t}-{type(e).__name__}" for t, e, _ in ERRORS])
def test_library_errors_map_onto_the_convention(tool, exc, code, monkeypatch, tmp_path: Path, capsys) -> None:
    assert _run_with(tool, exc, monkeypatch, tmp_path) == code
    err = capsys.readouterr().err
    assert str(exc) in err and "Traceback" not in err


def test_export_parity_failure_exits_1(monkeypatch, tmp_path: Path, capsys) -> None:
    from detector.cli import export

    summary = SimpleNamespace(ok=False, out=tmp_path / "m.onnx")
    monkeypatch.setattr(export, "run_export", lambda opts: summary)
    assert export.main(["--weights", "w.pt"]) == EXIT_FAILED
    assert "does not reproduce the PyTorch outputs" in capsys.readouterr().err
    summary.ok = True
    assert export.main(["--weights", "w.pt"]) == EXIT_OK


def test_train_maps_errors_by_the_table(monkeypatch, capsys) -> None:
    """Found before the work (a ValueError: class counts, backbone, device, checkpoint): 2, as in every tool; a
    failure during the work (RuntimeError): 1."""
    from detector.cli import train
    from detector.engine.jobs import job_plans
    from detector.engine.training import trainer

    monkeypatch.setattr(train, "load_config", lambda path, overrides: object())
    monkeypatch.setattr(job_plans, "plan_train", lambda cfg, path, resume: None)
    monkeypatch.setattr(trainer, "train", _raise(ValueError("model.num_classes=3 but the data define 6 categories")))
    assert train.main(["c.yaml"]) == EXIT_USAGE
    assert "define 6 categories" in capsys.readouterr().err
    monkeypatch.setattr(trainer, "train", _raise(RuntimeError("CUDA error: an illegal memory access")))
    assert train.main(["c.yaml"]) == EXIT_FAILED
    assert capsys.readouterr().err == "error: CUDA error: an illegal memory access\n"


def test_make_shapes_video_failure_exits_1(monkeypatch, tmp_path: Path, capsys) -> None:
    from detector.cli import make_shapes

    monkeypatch.setattr(make_shapes, "make_shapes_video", _raise(RuntimeError("OpenCV cannot write mp4 ('mp4v')")))
    assert make_shapes.main(["--out", str(tmp_path / "s"), "--video-only"]) == EXIT_FAILED
    assert capsys.readouterr().err.startswith("error: OpenCV cannot write mp4")


@pytest.mark.slow  # two detection runs of a tiny model (~5 s on 2 cores)
def test_detect_stopped_by_ctrl_c_keeps_what_it_did_and_exits_130(monkeypatch, tmp_path: Path, capsys) -> None:
    from detector.cli.detect import main
    from detector.engine.prediction.predictor import Predictor

    weights = tmp_path / "w.pt"
    write_tiny_checkpoint(weights)
    src = tmp_path / "imgs"
    src.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(src / name), np.full((48, 64, 3), 90, np.uint8))
    calls = []
    predict = Predictor.__call__

    def stop_at_the_second(self, images):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return predict(self, images)

    monkeypatch.setattr(Predictor, "__call__", stop_at_the_second)
    out = tmp_path / "out"
    argv = ["--weights", str(weights), "--source", str(src), "--img-size", "64", "--out", str(out), "--device", "cpu"]
    assert main([*argv, "--save-json"]) == EXIT_SIGINT
    err = capsys.readouterr().err
    size_note = f"warning: detecting at 64 px, but {weights} was trained at 640 px\n"  # the tiny checkpoint's size
    assert err == size_note + "warning: interrupted; saving what was processed\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "detections.json"]  # the first image, saved
    calls.clear()
    monkeypatch.setattr(Predictor, "__call__", _raise(KeyboardInterrupt()))  # before any image: 130, not "none read"
    assert main([*argv, "--exist-ok"]) == EXIT_SIGINT


def test_the_wrapper_passes_statuses_and_argparse_exits_through(capsys) -> None:
    @exit_codes.exit_on_ctrl_c
    def main(argv: list[str] | None = None) -> int:
        if argv == ["exit"]:
            raise SystemExit(EXIT_USAGE)
        return len(argv or [])

    assert main(["a", "b", "c"]) == 3 and main.__name__ == "main"
    with pytest.raises(SystemExit) as e:
        main(["exit"])
    assert e.value.code == EXIT_USAGE and capsys.readouterr().err == ""
    from detector.cli.detect import main as detect_main

    with pytest.raises(SystemExit) as e:  # --source missing: argparse's own exit status is EXIT_USAGE
        detect_main(["--weights", "w.pt"])
    assert e.value.code == EXIT_USAGE and "the following arguments are required: --source" in capsys.readouterr().err


def test_detect_with_a_source_that_does_not_exist_exits_2(tmp_path: Path, capsys) -> None:
    from detector.cli.detect import main

    assert main(["--weights", str(tmp_path / "w.pt"), "--source", str(tmp_path / "nope")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "nope" in err


# The same representative errors through every tool (ERROR_CODES): the real exception classes the library raises
# for a missing input, a bad device, an unknown backbone, an unreadable checkpoint, an output that is an input, and
# a failure during the work.
def _representative() -> list[tuple[str, BaseException, int]]:
    from detector.config import ConfigError
    from detector.data.loader import DatasetNotFoundError
    from detector.model.checkpoint_io import CheckpointError
    from detector.output_files import OutputFileError

    return [
        ("missing file", DatasetNotFoundError("data.val.ann data/x.json: not found"), EXIT_USAGE),
        ("missing file", FileNotFoundError("--weights w.pt: no such file"), EXIT_USAGE),
        ("bad device", ValueError("--device=tpu: unknown device; expected auto, cpu, cuda, cuda:N, N or mps"), 2),
        ("unknown backbone", ConfigError("model.backbone.name: unknown backbone 'nope'"), EXIT_USAGE),
        ("bad checkpoint", CheckpointError("w.pt is not a training checkpoint (a plain state_dict)"), EXIT_USAGE),
        ("output is an input", OutputFileError("--out a is the same file as --gt a"), EXIT_USAGE),
        ("failed during work", RuntimeError("the engine failed"), EXIT_FAILED),
    ]


@pytest.mark.parametrize("tool", TOOLS)
def test_the_same_error_gives_the_same_status_in_every_tool(tool: str, monkeypatch, tmp_path: Path, capsys) -> None:
    for what, exc, code in _representative():
        assert _run_with(tool, exc, monkeypatch, tmp_path) == code, (tool, what)
        err = capsys.readouterr().err
        assert err == f"error: {exc}\n", (tool, what, err)  # one line, no traceback


def test_a_bad_device_is_rejected_with_2_by_every_tool_that_takes_one(tmp_path: Path, capsys) -> None:
    """For real, not through a stand-in: train (train.device), eval, detect, export, benchmark."""
    weights, images = tmp_path / "w.pt", tmp_path / "imgs"
    weights.write_bytes(b"placeholder")
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), np.zeros((8, 8, 3), np.uint8))
    config = ROOT / "configs" / "shapes_tiny.yaml"
    runs = {
        "train": [str(config), f"train.out_dir={tmp_path / 'run'}", "train.device=tpu"],
        "detect": ["--weights", str(weights), "--source", str(images), "--device", "tpu", "--out", str(tmp_path / "d")],
        "export": ["--weights", str(weights), "--device", "tpu", "--out", str(tmp_path / "m.onnx")],
    }
    for tool, argv in runs.items():
        assert _main(tool)(argv) == EXIT_USAGE, tool
        err = capsys.readouterr().err
        assert "tpu" in err and "Traceback" not in err, (tool, err)
