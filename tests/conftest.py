"""Shared pytest setup: keep CPU tests fast and deterministic on small machines."""

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

torch.set_num_threads(min(2, torch.get_num_threads()))
