"""COCO box evaluation: faster-coco-eval (pycocotools as reference and fallback), input checks, model evaluation.

Ground truth is a COCO dataset (a pycocotools/faster-coco-eval ``COCO`` object, a dict or a JSON path).
Predictions are COCO result dicts ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` with boxes in
original image pixels (xywh: top-left corner, width, height) and the dataset's original category ids, a JSON path,
or :class:`Detections` (the same as arrays: what :func:`evaluate_model` hands over, no dicts or JSON in between).
Metrics follow pycocotools exactly, including its ``-1.0`` for "no ground truth in this area range". Ground truth
without one (non-crowd) box in the evaluated images has no AP at all: the result says so
(``has_ground_truth`` False, "no ground truth" in its summary, null stats in its JSON) and an
:class:`EvaluationWarning` is raised.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from detector.config import EvalConfig
from detector.engine.evaluation.coco_engines import ENGINES, EvaluationWarning, pick_engine, run_engine
from detector.engine.evaluation.coco_inputs import EvaluationInputError, load_gt_dataset
from detector.engine.evaluation.coco_results import load_predictions
from detector.engine.evaluation.detections import Detections

if TYPE_CHECKING:  # the type only: importing the model pulls in torchvision, which file-mode evaluation never needs
    from detector.model import Detector
    from detector.runtime.predict import BackendModel

__all__ = [
    "ENGINES",
    "STAT_KEYS",
    "Detections",
    "EvalResult",
    "EvaluationInputError",
    "EvaluationWarning",
    "GroundTruth",
    "NO_GROUND_TRUTH",
    "coco_evaluate",
    "evaluate_model",
]

NO_GROUND_TRUTH = "no ground truth"  # shown in place of AP/AR when the ground truth holds no box
STAT_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
_SUMMARY_ROWS = (  # (title, IoU, area, maxDets) in pycocotools order, one per STAT_KEYS entry
    ("Average Precision  (AP)", "0.50:0.95", "all", 100),
    ("Average Precision  (AP)", "0.50", "all", 100),
    ("Average Precision  (AP)", "0.75", "all", 100),
    ("Average Precision  (AP)", "0.50:0.95", "small", 100),
    ("Average Precision  (AP)", "0.50:0.95", "medium", 100),
    ("Average Precision  (AP)", "0.50:0.95", "large", 100),
    ("Average Recall     (AR)", "0.50:0.95", "all", 1),
    ("Average Recall     (AR)", "0.50:0.95", "all", 10),
    ("Average Recall     (AR)", "0.50:0.95", "all", 100),
    ("Average Recall     (AR)", "0.50:0.95", "small", 100),
    ("Average Recall     (AR)", "0.50:0.95", "medium", 100),
    ("Average Recall     (AR)", "0.50:0.95", "large", 100),
)


@dataclass
class EvalResult:
    """Result of :func:`coco_evaluate`.

    ``stats``: the 12 COCO numbers (keys ``STAT_KEYS``, fractions in [0, 1]; -1.0 = no GT in that area range).
    ``per_class``: one dict per GT category ``{"category_id", "name", "AP" (mAP@[.5:.95]), "AP50", "num_gt"}``
    (AP -1.0 when the category has no non-crowd GT in the evaluated images).
    ``precision``: pycocotools array ``[T=10 IoUs, R=101 recall points, K categories, A=4 areas, M=3 maxDets]``
    (areas all/small/medium/large, maxDets 1/10/100; -1 where undefined); K follows ``cat_ids``.
    """

    stats: dict[str, float]
    per_class: list[dict[str, Any]]
    precision: np.ndarray
    cat_ids: list[int]
    engine: str
    num_images: int = 0
    num_predictions: int = 0
    iou_thrs: np.ndarray = field(default_factory=lambda: np.linspace(0.5, 0.95, 10))
    rec_thrs: np.ndarray = field(default_factory=lambda: np.linspace(0.0, 1.0, 101))

    @property
    def has_ground_truth(self) -> bool:
        """False when the evaluated images hold no non-crowd ground-truth box: every stat is -1 (undefined)."""
        return any(c["num_gt"] > 0 for c in self.per_class)

    def __getitem__(self, key: str) -> float:
        """``result["AP"]``: a stat by name (so the result also reads like the contract's metrics dict)."""
        return self.stats[key]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the 12 stats at top level (null when there is no ground truth: AP is undefined, not -1)
        plus ``num_gt`` (non-crowd ground-truth boxes), ``per_class``, ``engine``, image/prediction counts."""
        gt = self.has_ground_truth
        return {
            **{k: float(v) if gt else None for k, v in self.stats.items()},
            "num_gt": sum(int(c["num_gt"]) for c in self.per_class),
            "per_class": [dict(c) for c in self.per_class],
            "engine": self.engine,
            "num_images": self.num_images,
            "num_predictions": self.num_predictions,
        }

    def summary(self) -> str:
        """The 12 stats in the familiar pycocotools text layout ("no ground truth" in place of the numbers when
        there is none)."""
        lines = []
        for key, (title, iou, area, max_det) in zip(STAT_KEYS, _SUMMARY_ROWS, strict=True):
            value = f"{self.stats[key]:0.3f}" if self.has_ground_truth else NO_GROUND_TRUTH
            lines.append(f" {title} @[ IoU={iou:<9} | area={area:>6s} | maxDets={max_det:>3d} ] = {value}")
        return "\n".join(lines)

    def per_class_table(self) -> str:
        """Per-class AP table: id, name, number of GT boxes, AP@[.5:.95], AP50 (``-`` = no GT)."""
        width = max([len("class")] + [len(c["name"]) for c in self.per_class])
        rows = [f"{'id':>5}  {'class':<{width}}  {'gt':>7}  {'AP':>6}  {'AP50':>6}"]
        for c in self.per_class:
            ap, ap50 = (f"{v:6.3f}" if v >= 0 else f"{'-':>6}" for v in (c["AP"], c["AP50"]))
            rows.append(f"{c['category_id']:>5}  {c['name']:<{width}}  {c['num_gt']:>7}  {ap}  {ap50}")
        return "\n".join(rows)


class GroundTruth(Protocol):
    """What :func:`evaluate_model` reads from a dataset (:class:`detector.data.DetectionDataset` and the source
    datasets have both): the ground truth and the category id of each contiguous label."""

    @property
    def coco(self) -> Any: ...  # a pycocotools/faster-coco-eval ``COCO`` object, a dataset dict or a JSON path

    @property
    def cat_ids(self) -> list[int]: ...  # label i -> category id cat_ids[i]


def _mean_valid(values: np.ndarray) -> float:
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else -1.0


def coco_evaluate(
    coco_gt: Any,
    predictions: Any,
    *,
    engine: str = "auto",
    iou_type: str = "bbox",
    img_ids: Iterable[int] | None = None,
) -> EvalResult:
    """Evaluate COCO box predictions against ground truth; numbers equal pycocotools' ``COCOeval``.

    ``coco_gt``: ``COCO`` object, dataset dict or JSON path. ``predictions``: list of result dicts (bbox xywh in
    original pixels, original category ids), a JSON path, or :class:`Detections`. ``img_ids``: evaluate only these
    images (default: all GT images). ``engine``: "auto" (faster-coco-eval, pycocotools if it cannot be imported or
    fails), "faster" or "pycocotools". Empty predictions give all stats 0.0 and an :class:`EvaluationWarning`.
    Raises :class:`EvaluationInputError` for unreadable/malformed files, missing keys, unknown image/category ids.
    """
    if iou_type != "bbox":
        raise ValueError(f"iou_type '{iou_type}' is not supported: this detector predicts boxes, use 'bbox'")
    chosen = pick_engine(engine)
    gt = load_gt_dataset(coco_gt)
    all_img_ids = [int(img["id"]) for img in gt["images"]]
    if img_ids is None:
        eval_ids = sorted(set(all_img_ids))
    else:
        eval_ids = sorted({int(i) for i in img_ids})
        unknown = sorted(set(eval_ids) - set(all_img_ids))
        if unknown:
            raise EvaluationInputError(
                f"img_ids holds {len(unknown)} id(s) not in the ground truth, e.g. {unknown[:5]}: "
                "pass ids of entries in the annotation file's 'images'"
            )
    dets = load_predictions(predictions, gt)
    if img_ids is not None:
        dets = dets.select(np.isin(dets.image_ids, eval_ids))
    keep = set(eval_ids)
    cats = sorted(gt["categories"], key=lambda c: int(c["id"]))
    cat_ids = [int(c["id"]) for c in cats]
    num_gt = dict.fromkeys(cat_ids, 0)
    for ann in gt["annotations"]:
        if ann["image_id"] in keep and not ann.get("iscrowd", 0):
            num_gt[int(ann["category_id"])] += 1

    has_gt = any(num_gt.values())
    if not has_gt:
        warnings.warn(
            f"the ground truth has no (non-crowd) annotation in the {len(eval_ids)} evaluated image(s): AP and AR "
            "cannot be computed (reported as 'no ground truth'); check the annotation file",
            EvaluationWarning,
            stacklevel=2,
        )
    if not len(dets):
        if has_gt:
            warnings.warn(
                "no predictions to evaluate (the model detected nothing, or the file is empty): all metrics are 0.0",
                EvaluationWarning,
                stacklevel=2,
            )
        fill = 0.0 if has_gt else -1.0  # pycocotools' -1: undefined without ground truth
        stats = np.full(12, fill)
        precision = np.full((10, 101, len(cat_ids), 4, 3), fill)
    else:
        try:
            stats, precision = run_engine(chosen, gt, dets, eval_ids)
        except Exception as e:  # noqa: BLE001 - any engine failure: fall back to the reference implementation
            if engine != "auto" or chosen == "pycocotools":
                raise RuntimeError(f"COCO evaluation with {chosen} failed: {type(e).__name__}: {e}") from e
            warnings.warn(f"faster-coco-eval failed ({e}); using pycocotools", EvaluationWarning, stacklevel=2)
            chosen = "pycocotools"
            stats, precision = run_engine(chosen, gt, dets, eval_ids)
        if not has_gt:
            stats = np.full(12, -1.0)  # what pycocotools gives; the same whatever the engine

    per_class = []
    for k, cat in enumerate(cats):
        p_all = precision[:, :, k, 0, -1]  # all areas, maxDets=100
        per_class.append(
            {
                "category_id": int(cat["id"]),
                "name": str(cat.get("name", cat["id"])),
                "AP": _mean_valid(p_all),
                "AP50": _mean_valid(p_all[0]),
                "num_gt": num_gt[int(cat["id"])],
            }
        )
    return EvalResult(
        stats={k: float(v) for k, v in zip(STAT_KEYS, stats, strict=True)},
        per_class=per_class,
        precision=precision,
        cat_ids=cat_ids,
        engine="faster-coco-eval" if chosen == "faster" else "pycocotools",
        num_images=len(eval_ids),
        num_predictions=len(dets),
    )


@torch.no_grad()
def evaluate_model(
    model: Detector | BackendModel,
    loader: Iterable[dict[str, torch.Tensor]],
    dataset: GroundTruth,
    eval_cfg: EvalConfig,
    device: torch.device | str,
    *,
    autocast_dtype: torch.dtype | None = None,
    progress: bool = True,
    engine: str = "auto",
) -> tuple[EvalResult, Detections]:
    """Run ``model.predict`` over ``loader`` and COCO-evaluate on the images seen (a subset loader works).

    Batches follow the data contract (``images`` uint8 ``[B, 3, S, S]``, ``image_ids``, ``lb_params`` ``[B, 3]``,
    ``orig_sizes`` ``[B, 2]``); ``eval_cfg`` provides ``conf``, ``iou`` (NMS), ``max_det`` and ``multi_label``.
    ``dataset.coco`` is the ground truth and ``dataset.cat_ids`` maps labels to category ids. ``autocast_dtype``: run
    the forward pass under autocast with this dtype (the trainer passes its own: bf16 or fp16), None for float32;
    boxes are decoded in float32 either way.
    ``model`` may be an exported file's backend (:class:`detector.runtime.BackendModel`; CPU, no autocast).
    Returns ``(EvalResult, Detections)``: the detections go to the engine as arrays (``.to_results()`` gives the
    COCO result dicts, e.g. for a predictions JSON).
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    parts: list[Detections] = []
    seen: list[int] = []
    try:
        for batch in tqdm(loader, desc="eval", unit="batch", disable=not progress, leave=False):
            images = batch["images"].to(device, non_blocking=True).float() / 255.0
            with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                outputs = model.predict(
                    images,
                    eval_cfg,
                    lb_params=batch["lb_params"].to(device),
                    orig_sizes=batch["orig_sizes"].to(device),
                )
            ids = [int(i) for i in batch["image_ids"].reshape(-1).tolist()]
            parts.append(Detections.from_outputs(outputs, ids, dataset.cat_ids))
            seen.extend(ids)
    finally:
        model.train(was_training)
    if not seen:
        raise EvaluationInputError("the evaluation loader yielded no images: check data.val (ann/images)")
    dets = Detections.concat(parts)
    return coco_evaluate(dataset.coco, dets, engine=engine, img_ids=seen), dets
