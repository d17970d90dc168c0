"""Importing the library's data pipeline makes no network call (albumentations checks PyPI at import time
unless told not to)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import socket, urllib.request
calls = []
def refuse(*args, **kwargs):
    calls.append(args[:1])
    raise OSError("network call in a test")
urllib.request.OpenerDirector.open = refuse
socket.create_connection = refuse
socket.socket.connect = refuse
import detector.data.transforms  # imports albumentations
print("network calls:", len(calls))
"""


@pytest.mark.slow
def test_importing_the_augmentations_makes_no_network_call():
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    env["PYTHONPATH"] = str(ROOT)
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "network calls: 0" in res.stdout
    assert "Error fetching version info" not in res.stderr
