"""Ground truth without a single box: a warning at load naming the file, and "no ground truth" instead of the -1.0
that pycocotools returns, in the evaluator's summary, tools/eval.py's output, the epoch line and the final line."""

import json
import math

import cv2
import numpy as np
import pytest

from detector.config import load_config
from detector.data import CocoDetection, DatasetWarning
from detector.engine.evaluation.evaluator import STAT_KEYS, EvaluationWarning, coco_evaluate
from detector.engine.training.run_log import ResultsLogger, epoch_summary, read_results
from tests.helpers import tiny_config, write_coco
from tests.tools.test_eval_tool import load_tool

PRED = {"image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 20], "score": 0.9}


def _images(root, n=2):
    img_dir = root / "images"
    img_dir.mkdir()
    for i in range(1, n + 1):
        cv2.imwrite(str(img_dir / f"{i}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    return img_dir, [{"id": i, "file_name": f"{i}.png", "width": 64, "height": 48} for i in range(1, n + 1)]


def test_dataset_warns_naming_the_file(tmp_path):
    img_dir, images = _images(tmp_path)
    ann = write_coco(tmp_path, images, [], [{"id": 1, "name": "thing"}])
    with pytest.warns(DatasetWarning, match="has 0 annotations: every image is background; AP cannot be computed"):
        ds = CocoDetection(ann, img_dir)
    assert len(ds) == 2
    crowd = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 9, 9], "iscrowd": 1}
    ann = write_coco(tmp_path, images, [crowd], [{"id": 1, "name": "thing"}])
    with pytest.warns(DatasetWarning, match=rf"{ann} has 0 usable annotations \(1 in the file: crowd or dropped\)"):
        CocoDetection(ann, img_dir)


@pytest.mark.parametrize("preds", [[PRED], []])
def test_evaluator_says_no_ground_truth(preds):
    gt = {"images": [{"id": 1, "width": 64, "height": 48}], "annotations": [], "categories": [{"id": 1}]}
    with pytest.warns(EvaluationWarning, match="no \\(non-crowd\\) annotation in the 1 evaluated image") as caught:
        result = coco_evaluate(gt, preds)
    assert not any("all metrics are 0.0" in str(w.message) for w in caught)  # not "0.0": undefined
    assert not result.has_ground_truth and result.stats == dict.fromkeys(STAT_KEYS, -1.0)  # pycocotools' value
    lines = result.summary().splitlines()
    assert len(lines) == 12 and all(line.endswith("] = no ground truth") for line in lines)
    d = result.to_dict()
    assert all(d[k] is None for k in STAT_KEYS) and d["num_gt"] == 0


@pytest.mark.slow  # writes the plots (~1.5 s)
def test_eval_tool_prints_no_ground_truth(tmp_path, capsys):
    gt = {"images": [{"id": 1, "width": 64, "height": 48}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "p.json").write_text(json.dumps([PRED]))
    argv = ["--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "p.json"), "--out", str(tmp_path / "o")]
    assert load_tool().main(argv) == 0
    out, err = capsys.readouterr()
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = no ground truth" in out
    assert "-1.000" not in out and "warning: the ground truth has no (non-crowd) annotation" in err
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["AP"] is None and metrics["num_gt"] == 0
    assert load_tool().main([*argv, "--errors", "--exist-ok"]) == 0  # no breakdown to give: said, not an error
    assert "--errors: the ground truth has no box, so there is no error breakdown" in capsys.readouterr().err
    assert "errors" not in json.loads((tmp_path / "o" / "metrics.json").read_text())


def test_epoch_line_and_results_csv(tmp_path):
    row = {"epoch": 0, "box_loss": 0.1, "obj_loss": 0.2, "cls_loss": 0.3, "total_loss": 0.6, "lr": 0.01}
    row.update(mAP=math.nan, AP50=math.nan, AP75=math.nan, time_s=1.0, rss_mb=100.0)
    assert "mAP: no ground truth" in epoch_summary(row, epochs=3)
    logger = ResultsLogger(tmp_path, tensorboard=False)
    logger.log_epoch(row)
    header, line = (tmp_path / "results.csv").read_text().splitlines()
    cells = dict(zip(header.split(","), line.split(","), strict=True))
    assert cells["mAP"] == cells["AP50"] == cells["AP75"] == "" and cells["total_loss"] == "0.6"
    assert math.isnan(read_results(tmp_path / "results.csv")[0]["mAP"])


@pytest.mark.slow  # trains the tiny detector for one epoch
def test_training_on_val_without_usable_boxes_ends_with_no_ground_truth(tmp_path, detector_log):
    """The val split's only boxes are of the wrong type: skipped with a warning, training validates without crashing
    (it used to die at the first validation with no checkpoint) and says "no ground truth"."""
    from detector.engine.training.trainer import train

    val = tmp_path / "val"
    val.mkdir()
    img_dir, images = _images(val)
    bad = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, "20", 20], "iscrowd": 0}]
    ann = write_coco(val, images, bad, [{"id": i, "name": f"c{i}"} for i in range(1, 7)])
    data = {"val": {"ann": str(ann), "images": str(img_dir)}}
    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", tmp_path / "shapes", train={"epochs": 1}, data=data)
    with pytest.warns(DatasetWarning) as caught:
        result = train(load_config(path))
    texts = [str(w.message) for w in caught]
    assert any("skipped 1 annotation(s)" in t and "annotation id 1 (image id 1)" in t for t in texts)
    assert any(f"{ann} has 0 usable annotations" in t for t in texts)
    assert (tmp_path / "out" / "weights" / "last.pt").is_file()
    assert all(math.isnan(v) for v in result["metrics"].values())
    log = detector_log.text
    assert "mAP: no ground truth" in log and "best mAP@[.5:.95] no ground truth" in log and "-1.0" not in log
    assert math.isnan(read_results(tmp_path / "out" / "results.csv")[0]["mAP"])
