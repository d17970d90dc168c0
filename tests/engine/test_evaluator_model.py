"""Model outputs to COCO results (Detections.from_outputs), evaluate_model (stand-in model and loader) and the
evaluation plots."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from detector.config import EvalConfig
from detector.engine.evaluation.detections import Detections
from detector.engine.evaluation.evaluator import (
    STAT_KEYS,
    EvaluationInputError,
    EvaluationWarning,
    coco_evaluate,
    evaluate_model,
)
from detector.engine.evaluation.metric_plots import mean_pr_curve, plot_per_class_ap, plot_pr_curves
from tests.helpers import make_gt, make_predictions

EVAL_CFG = EvalConfig(conf=0.001, iou=0.65, max_det=100)


def predictions_to_coco(outputs, image_ids, cat_ids):
    """Model outputs -> COCO result dicts (boxes xywh rounded to 0.001 px), as evaluate_model hands them on."""
    return Detections.from_outputs(outputs, image_ids, cat_ids).to_results()


def test_model_outputs_become_coco_results_with_boxes_and_ids() -> None:
    outputs = [
        {
            "boxes_xyxy": torch.tensor([[10.0, 20.0, 40.0, 60.0], [0.0, 0.0, 1.23456, 2.0]]),
            "scores": torch.tensor([0.9, 0.123456789]),
            "labels": torch.tensor([1, 0]),
        },
        {"boxes_xyxy": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)},
    ]
    res = predictions_to_coco(outputs, torch.tensor([42, 7]), [3, 90])
    assert res == [
        {"image_id": 42, "category_id": 90, "bbox": [10.0, 20.0, 30.0, 40.0], "score": 0.9},
        {"image_id": 42, "category_id": 3, "bbox": [0.0, 0.0, 1.235, 2.0], "score": 0.12346},
    ]
    assert all(type(r["image_id"]) is int and type(r["category_id"]) is int for r in res)
    with pytest.raises(ValueError, match="predicted label 2 outside 0..1"):
        predictions_to_coco([{**outputs[0], "labels": torch.tensor([2, 0])}], [1], [3, 90])
    with pytest.raises(ValueError, match="2 outputs but 1 image ids"):
        predictions_to_coco(outputs, [1], [3, 90])


class PerfectModel(nn.Module):
    """Stand-in for Detector.predict: returns the GT boxes of each image (looked up by batch position)."""

    def __init__(self, gt: dict, cat_ids: list[int], empty: bool = False):
        super().__init__()
        self.gt, self.cat_ids, self.empty = gt, cat_ids, empty
        self.pending: list[int] = []
        self.calls: list[dict] = []
        self.layer = nn.Linear(1, 1)

    def predict(self, images, settings, lb_params, orig_sizes):
        self.calls.append(
            dict(
                dtype=images.dtype,
                max=float(images.max()),
                training=self.training,
                conf=settings.conf,
                iou=settings.iou,
                max_det=settings.max_det,
                lb=lb_params.clone(),
                sizes=orig_sizes.clone(),
                autocast=torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None,
            )
        )
        outs = []
        for image_id in self.pending[: images.shape[0]]:
            anns = [a for a in self.gt["annotations"] if a["image_id"] == image_id and not a["iscrowd"]]
            if self.empty:
                anns = []
            xywh = torch.tensor([a["bbox"] for a in anns], dtype=torch.float32).reshape(-1, 4)
            labels = [self.cat_ids.index(a["category_id"]) for a in anns]
            boxes_xyxy = torch.cat((xywh[:, :2], xywh[:, :2] + xywh[:, 2:]), 1)
            scores = torch.full((len(anns),), 0.9)
            outs.append({"boxes_xyxy": boxes_xyxy, "scores": scores, "labels": torch.tensor(labels, dtype=torch.long)})
        self.pending = self.pending[images.shape[0] :]
        return outs


def make_loader(image_ids: list[int], model: PerfectModel, batch_size: int = 3):
    """Batches in the data contract's format; tells the stand-in model which images come next."""
    for start in range(0, len(image_ids), batch_size):
        ids = image_ids[start : start + batch_size]
        model.pending = list(ids)
        b = len(ids)
        yield {
            "images": torch.full((b, 3, 32, 32), 255, dtype=torch.uint8),
            "image_ids": torch.tensor(ids, dtype=torch.int64),
            "lb_params": torch.tensor([[0.5, 1.0, 2.0]] * b),
            "orig_sizes": torch.tensor([[64, 60]] * b, dtype=torch.int64),
            "targets": torch.zeros(0, 6),
        }


@pytest.fixture()
def gt_dataset():
    gt = make_gt(7, num_images=8)
    cat_ids = [1, 3, 7, 12]
    dataset = SimpleNamespace(coco=gt, cat_ids=cat_ids)
    return gt, cat_ids, dataset


def test_evaluate_model_perfect_predictions_on_subset(gt_dataset) -> None:
    gt, cat_ids, dataset = gt_dataset
    model = PerfectModel(gt, cat_ids).train()
    subset = [img["id"] for img in gt["images"][:5]]  # a subset loader: unseen images are not counted as misses
    result, preds = evaluate_model(model, make_loader(subset, model), dataset, EVAL_CFG, "cpu", progress=False)
    assert result["AP"] == pytest.approx(1.0) and result["AR100"] == pytest.approx(1.0)
    assert result.num_images == 5 and set(preds.image_ids.tolist()) <= set(subset)
    assert set(preds.category_ids.tolist()) <= set(cat_ids) and result.num_predictions == len(preds) > 0
    assert coco_evaluate(gt, preds.to_results(), img_ids=subset).stats == result.stats  # the JSON gives the same
    call = model.calls[0]
    assert call["dtype"] == torch.float32 and call["max"] == pytest.approx(1.0)  # uint8 -> float / 255
    assert not call["training"] and model.training  # eval during inference, training mode restored after
    assert (call["conf"], call["iou"], call["max_det"]) == (0.001, 0.65, 100)
    assert call["lb"][0].tolist() == [0.5, 1.0, 2.0] and call["sizes"][0].tolist() == [64, 60]
    assert len(model.calls) == 2  # batches of 3: 5 images -> 2 calls
    assert call["autocast"] is None  # float32 unless an autocast dtype is given


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_evaluate_model_runs_under_the_given_autocast_dtype(gt_dataset, dtype) -> None:
    gt, cat_ids, dataset = gt_dataset
    model = PerfectModel(gt, cat_ids)
    ids = [img["id"] for img in gt["images"]]
    result, _ = evaluate_model(
        model, make_loader(ids, model), dataset, EVAL_CFG, "cpu", autocast_dtype=dtype, progress=False
    )
    assert {c["autocast"] for c in model.calls} == {dtype} and result["AP"] == pytest.approx(1.0)


def test_trainer_validates_under_its_own_autocast_dtype(monkeypatch) -> None:
    """The trainer hands its training autocast dtype (train.amp_dtype: fp16 here) to the evaluator, not bf16."""
    import detector.engine.training.trainer as trainer_mod
    from detector.engine.training.trainer import Trainer

    seen = {}

    def fake_evaluate_model(model, loader, dataset, eval_cfg, device, **kw):
        seen.update(kw)
        return dict.fromkeys(STAT_KEYS, 0.5), None

    monkeypatch.setattr(trainer_mod, "evaluate_model", fake_evaluate_model)
    trainer = Trainer.__new__(Trainer)  # only what validate() reads
    trainer.main, trainer.ema, trainer.autocast_dtype = True, None, torch.float16
    trainer.model, trainer.val_loader, trainer.device = nn.Linear(1, 1), [], torch.device("cpu")
    trainer.val_ds = SimpleNamespace(coco={}, cat_ids=[])
    trainer.cfg = SimpleNamespace(eval=EVAL_CFG)
    trainer.validate()
    assert seen["autocast_dtype"] is torch.float16 and "amp" not in seen


def test_evaluate_model_with_no_detections_or_no_images(gt_dataset) -> None:
    gt, cat_ids, dataset = gt_dataset
    model = PerfectModel(gt, cat_ids, empty=True)
    ids = [img["id"] for img in gt["images"]]
    with pytest.warns(EvaluationWarning, match="no predictions"):
        result, preds = evaluate_model(model, make_loader(ids, model), dataset, EVAL_CFG, "cpu", progress=False)
    assert len(preds) == 0 and preds.to_results() == [] and result["AP"] == 0.0 and result["AR100"] == 0.0
    with pytest.raises(EvaluationInputError, match="yielded no images"):
        evaluate_model(model, [], dataset, EVAL_CFG, "cpu", progress=False)


def test_plots_and_mean_pr_curve(tmp_path) -> None:
    gt = make_gt(1)
    perfect = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
        for a in gt["annotations"]
        if not a["iscrowd"]
    ]
    result = coco_evaluate(gt, perfect)
    np.testing.assert_allclose(mean_pr_curve(result, 0.5), 1.0)
    np.testing.assert_allclose(mean_pr_curve(result, None), 1.0)
    noisy = coco_evaluate(gt, make_predictions(gt, 1))
    curve = mean_pr_curve(noisy, 0.75)
    assert curve.shape == (101,) and np.all(np.diff(curve) <= 1e-12) and curve[0] > curve[-1]
    with pytest.raises(ValueError, match="iou must be one of"):
        mean_pr_curve(noisy, 0.3)
    with pytest.warns(EvaluationWarning):
        empty = coco_evaluate(gt, [])
    np.testing.assert_allclose(mean_pr_curve(empty, 0.5), 0.0)
    for i, res in enumerate((noisy, empty)):
        pr = plot_pr_curves(res, tmp_path / str(i) / "pr.png")
        bars = plot_per_class_ap(res, tmp_path / str(i) / "ap.png")
        assert pr.read_bytes()[:4] == b"\x89PNG" and bars.read_bytes()[:4] == b"\x89PNG"
