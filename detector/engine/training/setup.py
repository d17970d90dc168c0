"""Run environment for training: AMP, output folder, class count, loader shutdown."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from detector.device import cpu_has_native_bf16
from detector.engine.run_folder import is_free, next_free_folder
from detector.engine.training.resume import run_folder_of

log = logging.getLogger(__name__)


def amp_setup(amp: bool, amp_dtype: str, device: torch.device) -> tuple[torch.dtype | None, torch.amp.GradScaler]:
    """Autocast dtype (None = fp32) and a GradScaler (enabled only for fp16 on CUDA).

    CUDA: ``amp_dtype`` (bf16 falls back to fp16 on GPUs without bf16). CPU: bf16 when the CPU computes it in
    hardware (:func:`cpu_has_native_bf16`: AVX512-BF16 / AMX, ~1.4x faster training steps), else float32;
    ``amp_dtype: fp16`` is taken as bf16 on the CPU (fp16 autocast has no fast CPU kernels). Other devices: fp32.
    ``amp: true`` means "where it is fast" (an INFO line says float32); an explicit ``fp16`` replaced is a warning.
    """
    if amp_dtype not in ("bf16", "fp16"):
        raise ValueError(f"train.amp_dtype: unknown dtype '{amp_dtype}', expected bf16 or fp16")
    off = torch.amp.GradScaler("cpu", enabled=False)
    if not amp:
        return None, off
    if device.type == "cpu":
        if not cpu_has_native_bf16():
            log.info("train.amp: this CPU has no bf16 hardware (AVX512-BF16 / AMX); training in float32")
            return None, off
        if amp_dtype == "fp16":
            log.warning(
                "train.amp_dtype=fp16 on the CPU: using bf16 (fp16 autocast has no fast CPU kernels; "
                "set train.amp_dtype=bf16 to say so in the config)"
            )
        return torch.bfloat16, off
    if device.type != "cuda":
        log.info("train.amp: no mixed precision on %s; training in float32", device.type)
        return None, off
    if amp_dtype == "bf16" and not torch.cuda.is_bf16_supported():
        warnings.warn("this GPU has no bf16 support: training with train.amp_dtype=fp16 instead", stacklevel=2)
        amp_dtype = "fp16"
    if amp_dtype == "bf16":
        return torch.bfloat16, torch.amp.GradScaler("cuda", enabled=False)
    return torch.float16, torch.amp.GradScaler("cuda", enabled=True)


def resolve_num_classes(configured: int | None, dataset_classes: int, ann_path: str) -> int:
    """``model.num_classes`` when set (must equal the annotation count), else the annotations' class count."""
    if configured is None:
        return int(dataset_classes)
    if int(configured) != int(dataset_classes):
        raise ValueError(
            f"model.num_classes={configured} but the training annotations ({ann_path}) define {dataset_classes} "
            f"categories; set model.num_classes=null to take {dataset_classes} from the annotations, or fix the "
            "annotation file"
        )
    return int(configured)


def resolve_run_paths(out_dir: str, resume: str | Path | None, resume_flag: bool) -> tuple[Path, Path | None]:
    """``(output folder, checkpoint to resume or None)``.

    ``--resume PATH`` resumes PATH and writes into its run folder, ``PATH/../..`` (PATH is ``RUN/weights/X.pt``;
    a checkpoint elsewhere is a :class:`detector.engine.training.resume.ResumeError`; whether ``out_dir`` and the
    rest of the config agree with the run's is :func:`detector.engine.training.resume.plan_resume`'s check);
    ``train.resume=true`` resumes ``train.out_dir/weights/last.pt``. A fresh run never writes into a folder that
    holds files: it goes to ``out_dir2``, ``out_dir3``, ... instead (``run_folder``).
    """
    out = Path(out_dir)
    if resume is not None:
        path = Path(resume)
        return run_folder_of(path), path
    last = out / "weights" / "last.pt"
    if resume_flag:
        if not last.is_file():
            raise FileNotFoundError(
                f"train.resume=true but {last} does not exist; point train.out_dir at the run to continue "
                "or pass --resume PATH"
            )
        return out, last
    if not is_free(out):
        new = next_free_folder(out)
        log.info("%s already holds files: this run goes to %s (continue the old one with train.resume=true)", out, new)
        out = new
    return out, None


def shutdown_loader(loader: DataLoader | None) -> None:
    """Stop the persistent worker processes of a DataLoader (no-op otherwise)."""
    if loader is None or loader._iterator is None:
        return
    shutdown = getattr(loader._iterator, "_shutdown_workers", None)  # multi-process iterators only
    if shutdown is not None:
        shutdown()
        loader._iterator = None
