"""SIGTERM to tools/detect.py on a video stops it as Ctrl-C does: the frames processed so far are saved as a playable
video, and the tool exits 143 (it used to die with a 44-byte, unplayable mp4)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.cli.exit_codes import EXIT_SIGTERM
from detector.engine.jobs import detect as detect_job
from tests.helpers import write_tiny_checkpoint


def _frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_sigterm_finalises_the_video_and_exits_143(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from detector.cli.detect import main

    weights = tmp_path / "best.pt"
    write_tiny_checkpoint(weights)
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), 10, (96, 64))
    rng = np.random.default_rng(1)
    for _ in range(8):
        writer.write(rng.integers(0, 255, (64, 96, 3), np.uint8))
    writer.release()
    calls = []
    summary_text = detect_job.summary_text

    def kill_at_third_frame(det):  # the job's per-frame log line: SIGTERM arrives while frame 3 is being processed
        calls.append(det)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return summary_text(det)

    monkeypatch.setattr(detect_job, "summary_text", kill_at_third_frame)
    before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "out"
    code = main(["--weights", str(weights), "--source", str(video), "--img-size", "64", "--out", str(out)])
    assert code == EXIT_SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before  # the tool's handler is gone once it returns
    assert _frames(out / "clip.mp4") == 2  # the two frames finished before the signal, in a playable file
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]
