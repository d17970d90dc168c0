"""detector/output_files.py: the atomic writer, the output-file checks and the generated-folder rule."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from detector.engine.training.checkpoint import atomic_save
from detector.output_files import (
    OutputFileError,
    atomic_path,
    check_output_file,
    temp_path,
    write_text_atomic,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("error", [ValueError("boom"), KeyboardInterrupt(), SystemExit(143)])
def test_any_exception_removes_the_temp_file_and_keeps_the_old_content(tmp_path, error):
    path = tmp_path / "out.json"
    path.write_text("old")
    with pytest.raises(type(error)), atomic_path(path) as tmp:
        tmp.write_text("half of the new")
        raise error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    assert path.read_text() == "old"


def test_a_failing_rename_removes_the_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("rename failed (simulated)")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        write_text_atomic(path, "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"] and path.read_bytes() == b"old"


def test_the_replacement_is_complete_and_keeps_the_suffix_of_the_temp_file(tmp_path):
    path = tmp_path / "sub" / "video.mp4"
    seen = []
    with atomic_path(path) as tmp:
        seen.append(tmp)
        tmp.write_bytes(b"new")
    assert path.read_bytes() == b"new" and not seen[0].exists()
    assert seen[0] == temp_path(path) and seen[0].parent == path.parent and seen[0].suffix == ".mp4"


def test_a_file_that_appeared_meanwhile_is_not_replaced_without_exist_ok(tmp_path):
    path = tmp_path / "m.json"
    with (
        pytest.raises(OutputFileError, match=r"m.json already exists: pass --exist-ok"),
        atomic_path(path, exist_ok=False, option="--json") as tmp,
    ):
        tmp.write_text("ours")
        path.write_text("someone else's")
    assert path.read_text() == "someone else's" and sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_check_output_file_names_the_file_the_options_and_the_flag(tmp_path):
    weights = tmp_path / "v.pt"
    weights.write_bytes(b"ckpt")
    spelled_otherwise = tmp_path / "sub" / ".." / "v.pt"
    (tmp_path / "sub").mkdir()
    with pytest.raises(OutputFileError) as e:
        check_output_file(spelled_otherwise, "--out", exist_ok=True, inputs={"--weights": weights})
    msg = str(e.value)
    assert "--out" in msg and "--weights" in msg and "same file" in msg and "choose another --out" in msg
    link = tmp_path / "link.pt"
    link.symlink_to(weights)
    with pytest.raises(OutputFileError, match="same file as --weights"):
        check_output_file(link, "--out", exist_ok=True, inputs={"--weights": weights})
    with pytest.raises(OutputFileError, match=rf"--out {weights} already exists: pass --exist-ok to replace it"):
        check_output_file(weights, "--out")
    with pytest.raises(OutputFileError, match="is a folder"):
        check_output_file(tmp_path, "--out", exist_ok=True)
    assert check_output_file(weights, "--out", exist_ok=True, inputs={"--names": None}) == weights
    assert check_output_file(tmp_path / "new.onnx", "--out", inputs={"--weights": weights}) == tmp_path / "new.onnx"
    assert weights.read_bytes() == b"ckpt"


def test_an_interrupted_checkpoint_save_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "weights" / "last.pt"
    atomic_save({"epoch": 1}, path)

    def interrupted(obj, f, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"epoch": 2}, path)
    monkeypatch.undo()
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]
    assert torch.load(path, weights_only=True) == {"epoch": 1}


WRITER = """
import signal, sys, time
from detector.output_files import atomic_path
def on_term(signum, frame):
    sys.exit(143)  # what a training run's SIGTERM handler does
signal.signal(signal.SIGTERM, on_term)
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "wb") as f:
        f.write(b"partial")
        f.flush()
        print("writing", flush=True)
        time.sleep(60)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt", reason="POSIX signals")
def test_sigterm_during_a_write_removes_the_temp_file(tmp_path):
    path = tmp_path / "last.pt"
    path.write_bytes(b"previous epoch")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        assert any(p.name.startswith(".last.tmp-") for p in tmp_path.iterdir())  # mid-write
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
    finally:
        proc.kill()
        proc.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"] and path.read_bytes() == b"previous epoch"
