"""``tools/export.py --format openvino [--half] [--int8]``: an OpenVINO IR folder, and INT8 with its accuracy checked.

The folder ``<name>_openvino/`` holds ``<name>.xml``, ``<name>.bin`` and ``metadata.json`` (the ONNX file's metadata
keys). Everything is written into a hidden temporary folder beside it and renamed at the end, so a failed or refused
export leaves nothing under the requested name (and an earlier folder, replaced only with --exist-ok, stays intact
until the new one is complete). With ``--int8`` the float and INT8 IRs are both evaluated on the config's val split by
our evaluator; an AP drop over ``--max-ap-drop`` is :class:`Int8AccuracyError` (exit 1).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from detector.config import Config
from detector.engine.jobs.evaluate_exported import evaluate_backend
from detector.model import Detector
from detector.model.postprocess import NmsSettings
from detector.output_files import OutputFileError, same_file
from detector.runtime.calibration import calibration_batches, calibration_source
from detector.runtime.openvino_backend import OPENVINO_SUFFIX, OpenVinoBackend
from detector.runtime.openvino_export import boundary_convs, convert_onnx, onnx_metadata, quantize_int8, write_ir
from detector.runtime.torch_export import export_onnx

log = logging.getLogger(__name__)


class Int8AccuracyError(RuntimeError):
    """The INT8 model lost more AP than ``--max-ap-drop`` allows; nothing was written."""


@dataclass
class Int8Check:
    """AP and AP50 of the float and the INT8 model on the val split (fractions)."""

    ap_float: float
    ap50_float: float
    ap_int8: float
    ap50_int8: float
    calib_images: int

    @property
    def drop(self) -> float:
        return self.ap_float - self.ap_int8

    def text(self) -> str:
        return (
            f"val AP {self.ap_float:.4f} -> {self.ap_int8:.4f} (drop {self.drop:+.4f}), AP50 {self.ap50_float:.4f} "
            f"-> {self.ap50_int8:.4f} (drop {self.ap50_float - self.ap50_int8:+.4f}); "
            f"{self.calib_images} calibration images"
        )


def default_ir_folder(weights: str | Path) -> Path:
    """``runs/x/best.pt`` -> ``runs/x/best_openvino``."""
    w = Path(weights)
    return w.with_name(w.stem + OPENVINO_SUFFIX)


def ir_file_names(out: Path) -> list[str]:
    """The files an export writes into the folder ``out``: ``<name>.xml``, ``<name>.bin`` and ``metadata.json``
    (``<name>``: the folder's name without ``_openvino``)."""
    stem = out.name.removesuffix(OPENVINO_SUFFIX) or out.name
    return [f"{stem}.xml", f"{stem}.bin", "metadata.json"]


def check_ir_folder(out: Path, weights: str | Path, exist_ok: bool) -> Path:
    """The output folder, checked before any work: not a file, not the weights, existing only with ``exist_ok``,
    and then holding nothing but an earlier export (``.xml``, ``.bin``, ``metadata.json``): the whole folder is
    replaced, so a folder with other files in it (a user's) is refused, naming them."""
    if same_file(out, weights) or (out.is_file() and not out.is_dir()):
        raise OutputFileError(
            f"--out {out} is a file (or the --weights): an OpenVINO export is a folder; choose another --out"
        )
    if out.exists() and not exist_ok:
        raise OutputFileError(f"--out {out} already exists: pass --exist-ok to replace it, or choose another --out")
    if out.is_dir():
        foreign = sorted(
            p.name
            for p in out.iterdir()
            if not (p.is_file() and (p.suffix in {".xml", ".bin"} or p.name == "metadata.json"))
        )
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise OutputFileError(
                f"--out {out} holds files that are not an OpenVINO export ({shown}); the export replaces the whole "
                "folder, so it never goes there: choose another --out"
            )
    return out


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` folder to ``out``; an existing ``out`` is removed only after the move succeeds."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if old.exists():
            os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def export_openvino_job(
    model: Detector,
    cfg: Config,
    cat_ids: list[int],
    out: Path,
    hw: tuple[int, int],
    *,
    nms: NmsSettings,
    calib_images: int,
    max_ap_drop: float,
    opset: int,
    half: bool = False,
    int8: bool = False,
    exist_ok: bool = False,
    progress: bool = False,
    check_accuracy: bool = True,
) -> tuple[Path, Int8Check | None]:
    """Write the IR folder ``out`` (see the module docstring) from ``model`` (BatchNorm folded) at input ``hw``.
    Returns the ``.xml`` path and the INT8 accuracy check (None without ``int8``). Raises FileNotFoundError before
    any work when ``int8`` and the train split cannot be read, :class:`Int8AccuracyError` for a drop over budget.
    ``check_accuracy=False`` (``--no-check``) skips the AP check of an INT8 model (a warning says so)."""
    source = calibration_source(cfg) if int8 else None  # a missing split fails before any export work
    if int8 and hw[0] != hw[1]:
        raise ValueError(f"--int8: the accuracy check evaluates square inputs; give one --img-size, not {hw}")
    name = (
        out.name[: -len(OPENVINO_SUFFIX)]
        if out.name.endswith(OPENVINO_SUFFIX) and out.name != OPENVINO_SUFFIX
        else out.name
    )
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        onnx_path = export_onnx(model, tmp / "work" / f"{name}.onnx", hw, opset, nms=nms, cat_ids=cat_ids)
        meta = onnx_metadata(onnx_path)
        ov_model = convert_onnx(onnx_path)
        check = None
        if not int8:
            meta["precision"] = "fp16" if half else "fp32"
            xml = write_ir(ov_model, tmp / "ir", name, meta, half)
        else:
            float_xml = write_ir(ov_model, tmp / "work" / "float", name, {**meta, "precision": "fp32"}, False)
            batches = calibration_batches(source, calib_images, hw, seed=cfg.train.seed)
            prediction_convs, _ = boundary_convs(onnx_path)  # the logits the decode reads: kept float
            quantized = quantize_int8(ov_model, batches, float_names=prediction_convs)
            xml = write_ir(quantized, tmp / "ir", name, {**meta, "precision": "int8"}, False)
            if not check_accuracy:
                log.warning("--no-check: the INT8 model's accuracy was NOT checked on the val split")
            else:
                check = _int8_check(float_xml, xml, cfg, len(batches), progress)
                log.info("INT8 accuracy: %s", check.text())
            if check is not None and check.drop > max_ap_drop:
                raise Int8AccuracyError(
                    f"INT8 loses {check.drop:.4f} AP on the val split, more than --max-ap-drop {max_ap_drop}: "
                    f"nothing written to {out} ({check.text()}); try more --calib-images or a larger --max-ap-drop"
                )
        _replace_folder(tmp / "ir", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / xml.name, check


def _int8_check(float_xml: Path, int8_xml: Path, cfg: Config, calib: int, progress: bool) -> Int8Check:
    """Evaluate both IRs on the val split (our evaluator, ``cfg.eval`` thresholds)."""
    float_res, _, _ = evaluate_backend(OpenVinoBackend(float_xml), cfg, progress=progress)
    int8_res, _, _ = evaluate_backend(OpenVinoBackend(int8_xml), cfg, progress=progress)
    return Int8Check(float_res["AP"], float_res["AP50"], int8_res["AP"], int8_res["AP50"], calib)
