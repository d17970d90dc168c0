"""Two-process DDP training with torchrun on CPU (gloo)."""

import os
import subprocess
import sys

import pytest

from detector.engine.training.run_log import read_results
from detector.model.checkpoint_io import load_checkpoint
from tests.helpers import ROOT, tiny_config


@pytest.mark.slow
def test_torchrun_two_processes_gloo(tmp_path):
    cfg = tiny_config(tmp_path / "c.yaml", tmp_path / "out", tmp_path / "shapes", train={"sync_bn": True})
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / "tools" / "train.py"), str(cfg), "train.epochs=2"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "batch 8 x 2 process(es)" in proc.stdout and "accumulate 1" in proc.stdout
    assert proc.stdout.count("epoch 2/2") == 1  # only rank 0 prints the summary
    rows = read_results(tmp_path / "out" / "results.csv")
    assert [r["epoch"] for r in rows] == [0, 1] and all(r["total_loss"] > 0 for r in rows)
    assert rows[-1]["mAP"] >= 0  # validated on rank 0
    ckpt = load_checkpoint(tmp_path / "out" / "weights" / "last.pt", require_training_state=True)
    assert ckpt["iteration"] == 2  # 16 images / (2 ranks x 8) = 1 iteration per epoch
    assert not any(k.startswith("module.") for k in ckpt["model"])
    assert (tmp_path / "out" / "weights" / "best.pt").is_file()
