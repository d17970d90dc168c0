"""results.csv / TensorBoard logging, results.png and train_batch plots, run-folder rules."""

import math

import cv2
import numpy as np
import pytest
import torch

from detector.config import Config
from detector.device import select_device
from detector.engine.jobs.job_plans import plan_train
from detector.engine.training.run_log import RESULTS_COLUMNS, ResultsLogger, epoch_summary, read_results, rss_mb
from detector.engine.training.run_plots import plot_results, plot_train_batch
from detector.engine.training.setup import resolve_num_classes, resolve_run_paths
from detector.output_files import OutputFileError


def _row(epoch, mAP=None):
    row = {"epoch": epoch, "box_loss": 0.1, "obj_loss": 0.2, "cls_loss": 0.3, "total_loss": 0.6, "lr": 0.01}
    if mAP is not None:
        row.update(mAP=mAP, AP50=2 * mAP, AP75=mAP / 2)
    return {**row, "time_s": 1.5, "rss_mb": 321.0}


def test_results_csv_rows_and_resume_truncation(tmp_path):
    log = ResultsLogger(tmp_path)
    for e in range(3):
        log.log_epoch(_row(e, mAP=0.1 * e if e != 1 else None))
    log.close()
    assert (tmp_path / "results.csv").read_text().splitlines()[0] == ",".join(RESULTS_COLUMNS)
    rows = read_results(tmp_path / "results.csv")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert math.isnan(rows[1]["mAP"]) and rows[2]["AP50"] == pytest.approx(0.4) and rows[0]["rss_mb"] == 321
    assert list(tmp_path.glob("events.out.tfevents.*"))
    ResultsLogger(tmp_path, start_epoch=2, tensorboard=False).log_epoch(_row(2, 0.5))
    assert [r["mAP"] for r in read_results(tmp_path / "results.csv")][::2] == [0.0, 0.5]
    png = plot_results(tmp_path / "results.csv")
    assert png == tmp_path / "results.png" and cv2.imread(str(png)) is not None


def test_epoch_summary_and_rss():
    text = epoch_summary(_row(4, 0.25), epochs=10)
    assert text.startswith("epoch 5/10") and "mAP 0.2500" in text and "AP50 0.5000" in text and "rss 321MB" in text
    assert "mAP" not in epoch_summary(_row(4), epochs=10)
    assert 10 < rss_mb() < 1e6


def test_plot_train_batch_draws_boxes(tmp_path):
    images = torch.full((3, 3, 64, 64), 114, dtype=torch.uint8)
    targets = torch.tensor([[0, 1, 8, 8, 40, 40], [2, 0, 10, 20, 30, 50]], dtype=torch.float32)
    path = plot_train_batch(images, targets, tmp_path / "b.jpg", ["a", "b"])
    img = cv2.imread(str(path))
    assert img.shape == (128, 128, 3)  # 2x2 grid
    assert np.abs(img[8, 20].astype(int) - 114).max() > 40  # top edge of box 0 drawn
    assert np.abs(img[64 + 35, 10].astype(int) - 114).max() > 40  # box of image 2 in the second row
    assert np.abs(img[64 + 35, 64 + 10].astype(int) - 114).max() < 15  # empty 4th tile


def test_run_folder_and_class_count_rules(tmp_path):
    assert resolve_run_paths(str(tmp_path / "new"), None, False) == (tmp_path / "new", None)
    with pytest.raises(FileNotFoundError, match="train.resume=true"):
        resolve_run_paths(str(tmp_path / "new"), None, True)
    (tmp_path / "run" / "weights").mkdir(parents=True)
    (tmp_path / "run" / "weights" / "last.pt").write_bytes(b"x")
    # a fresh run never overwrites a run: it goes to run2, then run3, ...
    assert resolve_run_paths(str(tmp_path / "run"), None, False) == (tmp_path / "run2", None)
    (tmp_path / "run2" / "weights").mkdir(parents=True)
    (tmp_path / "run2" / "weights" / "last.pt").write_bytes(b"x")
    assert resolve_run_paths(str(tmp_path / "run"), None, False) == (tmp_path / "run3", None)
    assert (tmp_path / "run" / "weights" / "last.pt").read_bytes() == b"x"
    last = tmp_path / "run" / "weights" / "last.pt"
    assert resolve_run_paths(str(tmp_path / "run"), None, True) == (tmp_path / "run", last)
    assert resolve_run_paths("elsewhere", last, False) == (tmp_path / "run", last)
    assert resolve_num_classes(None, 6, "a.json") == 6
    with pytest.raises(ValueError, match=r"model.num_classes=3 .*a.json.* 6 categories"):
        resolve_num_classes(3, 6, "a.json")
    assert select_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="train.device"):
        select_device("tpu", "train.device")


def test_the_job_plan_and_the_trainer_pick_the_same_run_folder(tmp_path):
    """One rule decides the run folder: the file plan checked before the run and the trainer agree (fresh, numbered
    past a folder with files, train.resume, --resume)."""
    cfg = Config()
    cfg.train.out_dir = str(tmp_path / "run")

    def planned(resume=None):
        return plan_train(cfg, None, resume).outputs[0].path

    assert planned() == resolve_run_paths(cfg.train.out_dir, None, False)[0] == tmp_path / "run"
    last = tmp_path / "run" / "weights" / "last.pt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"x")
    assert planned() == resolve_run_paths(cfg.train.out_dir, None, False)[0] == tmp_path / "run2"
    assert planned(str(last)) == resolve_run_paths("elsewhere", str(last), False)[0] == tmp_path / "run"
    cfg.train.resume = True
    assert planned() == resolve_run_paths(cfg.train.out_dir, None, True)[0] == tmp_path / "run"
    (tmp_path / "afile").write_text("x")
    cfg.train.out_dir, cfg.train.resume = str(tmp_path / "afile"), False
    for pick in (planned, lambda: resolve_run_paths(cfg.train.out_dir, None, False)):
        with pytest.raises(OutputFileError, match=r"train.out_dir .*afile is a file"):
            pick()
