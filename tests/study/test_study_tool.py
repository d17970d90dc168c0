"""tools/study.py: the plan of a dry run, one-line errors with exit status 2, argument checks."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.study.study_builders import write_tiny_study

ROOT = Path(__file__).resolve().parents[2]


def load_tool():
    return importlib.import_module("detector.cli.study")


@pytest.mark.slow  # imports timm and builds a ResNet-18
def test_a_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    spec = write_tiny_study(tmp_path, tmp_path / "shapes", seeds=[0, 1])
    out = tmp_path / "out"
    argv = [str(spec), "--out", str(out), "--dry-run", "--backbones", "cspdark,timm:resnet18", "--seeds", "3"]
    assert load_tool().main(argv) == 0
    text = capsys.readouterr().out
    assert "study tiny: 2 backbone(s), from scratch, seeds [3]" in text
    assert "cspdark                      seed 3: train" in text and "timm-resnet18                seed 3: train" in text
    assert not out.exists()


def test_a_bad_study_file_is_one_line_and_exit_2(tmp_path, capsys):
    spec = write_tiny_study(tmp_path, tmp_path / "shapes", backbones=[{"name": "cspdarknet53", "train.lr": 0.1}])
    assert load_tool().main([str(spec), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "backbones[0] sets 'train.lr'" in err


def test_a_backbone_that_does_not_build_fails_before_training(tmp_path, capsys):
    spec = write_tiny_study(tmp_path, tmp_path / "shapes")
    assert load_tool().main([str(spec), "--dry-run", "--out", str(tmp_path / "o"), "--backbones", "cspresnet99"]) == 2
    err = capsys.readouterr().err
    assert "backbone 'cspresnet99' (cspresnet99) does not build: unknown backbone 'cspresnet99'" in err


@pytest.mark.parametrize(("argv", "message"), [(["--seeds", "0,x"], "argument --seeds: expected an integer"),
                                               (["--backbones", ","], "comma-separated backbones"),
                                               (["--errors", "coco"], "--errors: invalid choice: 'coco'")])  # fmt: skip
def test_argument_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        load_tool().parse_args(["s.yaml", *argv])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_errors_picks_the_rules_of_the_breakdown():
    tool = load_tool()
    assert tool.options(tool.parse_args(["s.yaml", "--errors", "tidecv"])).errors == "tidecv"
    assert tool.options(tool.parse_args(["s.yaml"])).errors is None  # the study file's report.errors


@pytest.mark.parametrize(("signum", "status", "said"), [(15, 143, "stopped by SIGTERM"), (2, 130, "interrupted")])
def test_sigterm_and_ctrl_c_stop_the_study_with_the_line_to_resume(monkeypatch, capsys, signum, status, said):
    """SIGTERM (a scheduler, kill) stops a study as Ctrl-C does: one line saying to run the command again, exit
    143 (130 for Ctrl-C); the runs' checkpoints stay resumable (the next start resumes them)."""
    import signal

    tool = load_tool()

    def no_tool_handler(signum, frame):
        raise RuntimeError("the tool installed no SIGTERM handler")

    def study_gets_a_signal(opts):
        signal.raise_signal(signum)

    monkeypatch.setattr(tool, "run_study", study_gets_a_signal)
    before = signal.signal(signal.SIGTERM, no_tool_handler)  # a missing handler fails the test, not pytest
    try:
        assert tool.main(["s.yaml"]) == status
        assert signal.getsignal(signal.SIGTERM) is no_tool_handler  # the previous handler is back
    finally:
        signal.signal(signal.SIGTERM, before)
    assert f"{said}: run the same command again to resume the study" in capsys.readouterr().err
