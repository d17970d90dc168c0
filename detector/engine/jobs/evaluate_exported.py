"""Evaluation of an exported file (ONNX, OpenVINO IR) on a config's val split with the same evaluator as a
checkpoint: images letterboxed square to the file's fixed input size, the file's class order checked against the
dataset's categories."""

from __future__ import annotations

import logging

from detector.config import Config, config_from_dict, config_to_dict
from detector.data import DetectionDataset, build_dataloader, build_dataset
from detector.engine.evaluation.coco_inputs import EvaluationInputError
from detector.engine.evaluation.detections import Detections
from detector.engine.evaluation.evaluator import EvalResult, evaluate_model
from detector.runtime.base import Backend
from detector.runtime.predict import BackendModel

log = logging.getLogger(__name__)


def exported_eval_config(cfg: Config, backend: Backend) -> Config:
    """A copy of ``cfg`` that evaluates ``backend``: ``data.img_size`` its input side and ``eval.letterbox`` square
    (an exported file has one fixed, square-padded input; a changed size is logged in one line)."""
    out = config_from_dict(config_to_dict(cfg), "config")
    hw = backend.info.input_hw
    if hw is None:
        return out
    if hw[0] != hw[1]:
        raise ValueError(f"{backend.path}: input {hw[0]}x{hw[1]} is not square; evaluation letterboxes to a square")
    if cfg.data.img_size != hw[0] or cfg.eval.letterbox != "square":
        log.warning(
            "%s has a fixed %dx%d input: evaluating at data.img_size=%d, eval.letterbox=square (config: %d, %s)",
            backend.path, hw[0], hw[1], hw[0], cfg.data.img_size, cfg.eval.letterbox,
        )  # fmt: skip
    out.data.img_size, out.eval.letterbox = hw[0], "square"
    return out


def evaluate_backend(
    backend: Backend, cfg: Config, *, progress: bool = True, engine: str = "auto"
) -> tuple[EvalResult, Detections, DetectionDataset]:
    """COCO-evaluate ``backend`` on ``cfg``'s val split with ``cfg.eval``'s thresholds (see
    :func:`exported_eval_config`). Returns the result, the detections and the val dataset. Raises
    :class:`EvaluationInputError` when the file's classes do not fit the dataset's categories."""
    cfg = exported_eval_config(cfg, backend)
    dataset = build_dataset(cfg, "val")
    info = backend.info
    if info.cat_ids is not None and list(info.cat_ids) != list(dataset.cat_ids):
        raise EvaluationInputError(
            f"{backend.path} was exported for category ids {info.cat_ids[:10]} but data.val.ann "
            f"({cfg.data.val.ann}) has {list(dataset.cat_ids)[:10]}: evaluate on the dataset the model was trained for"
        )
    if len(info.names) != len(dataset.cat_ids):
        raise EvaluationInputError(
            f"{backend.path} has {len(info.names)} classes but data.val.ann ({cfg.data.val.ann}) has "
            f"{len(dataset.cat_ids)} categories"
        )
    loader = build_dataloader(dataset, cfg, "val")
    result, dets = evaluate_model(
        BackendModel(backend), loader, dataset, cfg.eval, "cpu", progress=progress, engine=engine
    )
    return result, dets, dataset
