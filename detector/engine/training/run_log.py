"""Run outputs that are not weights: ``results.csv`` (one row per epoch), TensorBoard scalars, memory figures.

An empty ``results.csv`` cell means "no value": a loss part the head does not have, the metrics of an epoch that was
not validated, or of a validation without ground truth (the val split holds no box, so AP is undefined).
"""

from __future__ import annotations

import csv
import math
import resource
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

LOSS_PARTS = ("box", "obj", "cls", "dfl")  # the loss parts a head family may report (results.csv columns)
RESULTS_COLUMNS = (
    "epoch",
    *(f"{part}_loss" for part in LOSS_PARTS),
    "total_loss",
    "lr",
    "mAP",
    "AP50",
    "AP75",
    "time_s",
    "rss_mb",
)


def rss_mb() -> float:
    """Current resident set size of this process in MiB (``/proc``; peak RSS where ``/proc`` is absent)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def gpu_mem_gb(device: torch.device) -> float:
    """CUDA memory reserved by the caching allocator on ``device`` in GiB (0 on CPU)."""
    if device.type != "cuda":
        return 0.0
    return torch.cuda.memory_reserved(device) / 2**30


def read_results(path: str | Path) -> list[dict[str, float]]:
    """Rows of a ``results.csv`` as floats (empty cells -> NaN)."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()} for row in rows]


class ResultsLogger:
    """Writes ``results.csv`` and TensorBoard scalars for one run (rank 0 only).

    On resume (``start_epoch > 0``) existing rows of epochs ``>= start_epoch`` are dropped, so an epoch whose
    checkpoint was never written (a crash between the CSV row and the checkpoint) is not listed twice.
    """

    def __init__(self, out_dir: str | Path, *, start_epoch: int = 0, tensorboard: bool = True) -> None:
        self.out_dir = Path(out_dir)
        self.csv_path = self.out_dir / "results.csv"
        rows = [r for r in read_results(self.csv_path) if r["epoch"] < start_epoch] if start_epoch > 0 else []
        with open(self.csv_path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(RESULTS_COLUMNS)
            for row in rows:
                writer.writerow([_fmt(row.get(c, math.nan)) for c in RESULTS_COLUMNS])
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(log_dir=str(self.out_dir))
            except ImportError as e:  # tensorboard is optional at run time
                warnings.warn(f"TensorBoard logging disabled ({e}); pip install tensorboard to enable it", stacklevel=2)

    def log_epoch(self, row: Mapping[str, Any]) -> None:
        """Append one epoch to ``results.csv`` (missing columns -> empty) and mirror it to TensorBoard."""
        with open(self.csv_path, "a", newline="") as f:
            csv.writer(f).writerow([_fmt(row.get(c, math.nan)) for c in RESULTS_COLUMNS])
        if self.tb is not None:
            epoch = int(row["epoch"])
            for key in RESULTS_COLUMNS[1:]:
                value = row.get(key)
                if value is not None and math.isfinite(float(value)):
                    group = "train" if key.endswith("loss") else "metrics" if key[0] in "mA" else "misc"
                    self.tb.add_scalar(f"{group}/{key}", float(value), epoch)
            self.tb.flush()

    def close(self) -> None:
        """Flush and close the TensorBoard writer."""
        if self.tb is not None:
            self.tb.close()
            self.tb = None


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    value = float(value)
    if math.isnan(value):
        return ""
    return str(int(value)) if value.is_integer() and abs(value) < 1e12 else f"{value:.6g}"


def epoch_summary(row: Mapping[str, Any], epochs: int) -> str:
    """One console line per epoch: losses, LR, metrics (when evaluated), time and RSS."""
    parts = " ".join(
        f"{p} {row[f'{p}_loss']:.4f}"
        for p in LOSS_PARTS
        if row.get(f"{p}_loss") is not None and math.isfinite(float(row[f"{p}_loss"]))
    )
    text = f"epoch {int(row['epoch']) + 1}/{epochs}  loss {row['total_loss']:.4f} ({parts})  lr {row['lr']:.3g}"
    if row.get("mAP") is not None:  # evaluated this epoch; NaN: the val split has no ground truth
        finite = math.isfinite(float(row["mAP"]))
        text += (
            f"  mAP {row['mAP']:.4f} AP50 {row['AP50']:.4f} AP75 {row['AP75']:.4f}"
            if finite
            else "  mAP: no ground truth"
        )
    return text + f"  {row['time_s']:.1f}s  rss {row['rss_mb']:.0f}MB"
