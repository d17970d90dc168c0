"""End to end: a small config on the synthetic shapes set trains, validates, writes every output, and learns."""

import cv2
import pytest
import torch

from detector.config import load_config
from detector.engine.evaluation.evaluator import evaluate_model
from detector.engine.training.run_log import RESULTS_COLUMNS, read_results
from detector.engine.training.trainer import train
from detector.model.checkpoint_io import load_checkpoint
from tests.helpers import tiny_config

SMALL_MODEL = {
    "backbone": {"name": "cspresnext50", "pretrained": False, "width_mult": 0.125, "depth_mult": 0.34},
    "neck": {"widths": [32, 48, 64], "depth": 1, "spp_kernels": [3, 5, 7]},
    "head": {"type": "decoupled"},  # the default head of configs/shapes_tiny.yaml and yolo_cspx50.yaml
}


@pytest.mark.slow
def test_train_end_to_end_learns_shapes(tmp_path):
    shapes = {"root": str(tmp_path / "shapes"), "num_train": 256, "num_val": 64, "img_size": 128, "seed": 0}
    # AdamW without accumulation: one optimiser step per batch of 8 (observed AP50 0.14 after 12 epochs)
    train_kw = {"epochs": 12, "nominal_batch_size": 8, "optimizer": "adamw", "lr": 0.003, "momentum": 0.9}
    train_kw.update(warmup_bias_lr=0.0, eval_interval=4, save_batches=3)
    path = tiny_config(
        tmp_path / "c.yaml",
        tmp_path / "run",
        tmp_path / "shapes",
        train=train_kw,
        data={"shapes": shapes, "img_size": 128, "augment": {"mosaic": 0.0, "close_mosaic": 0}},
        model=SMALL_MODEL,
        eval={"batch_size": 32},
    )
    cfg = load_config(path)
    torch.manual_seed(0)
    result = train(cfg)

    out = tmp_path / "run"
    for name in ("config.yaml", "results.csv", "results.png", "weights/last.pt", "weights/best.pt"):
        assert (out / name).is_file(), name
    for i in range(3):
        img = cv2.imread(str(out / f"train_batch{i}.jpg"))
        assert img is not None and img.shape[0] >= 128
    assert list(out.glob("events.out.tfevents.*"))
    rows = read_results(out / "results.csv")
    assert [r["epoch"] for r in rows] == list(range(12))
    assert set(RESULTS_COLUMNS) <= set(rows[0])
    evaluated = [r["epoch"] for r in rows if r["mAP"] == r["mAP"]]
    assert evaluated == [3, 7, 11]  # eval_interval 4, and always the last epoch
    assert rows[-1]["total_loss"] < rows[0]["total_loss"] and rows[-1]["lr"] < rows[1]["lr"]
    assert all(r["rss_mb"] > 0 for r in rows)

    ap50 = result["metrics"]["AP50"]
    assert ap50 > 0.08, result["metrics"]
    best = load_checkpoint(out / "weights" / "best.pt", require_training_state=True)
    assert best["best_fitness"] == pytest.approx(max(r["mAP"] for r in rows if r["mAP"] == r["mAP"]))
    assert len(best["class_names"]) == best["num_classes"] == 6 and best["cat_ids"] == [1, 2, 3, 4, 5, 6]

    # the same model untrained cannot detect anything useful
    from detector.data import build_dataloader, build_dataset
    from detector.model import build_model

    torch.manual_seed(0)
    untrained = build_model(cfg, num_classes=6)
    val_ds = build_dataset(cfg, "val")
    metrics, _ = evaluate_model(untrained, build_dataloader(val_ds, cfg, "val"), val_ds.base, cfg.eval, "cpu")
    assert metrics["AP50"] < 0.01 and metrics["AP50"] < ap50 / 8

    # the trained weights reload into a fresh model and reproduce the run's final mAP
    trained = build_model(cfg, num_classes=6)
    trained.load_state_dict(load_checkpoint(out / "weights" / "last.pt")["model"])
    if cfg.train.channels_last:  # as during the run: other conv kernels would move AP in the 6th decimal
        trained.to(memory_format=torch.channels_last)
    again, _ = evaluate_model(trained, build_dataloader(val_ds, cfg, "val"), val_ds.base, cfg.eval, "cpu")
    assert again["AP50"] == pytest.approx(ap50, abs=1e-6)
