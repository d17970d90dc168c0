"""Run environment for training: AMP, output folder, class count, loader shutdown."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from detector.device import cpu_has_native_bf16
from detector.engine.run_folder import next_free_folder
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


def run_folder(out_dir: str | Path, resume: str | Path | None, resume_flag: bool) -> Path:
    """The folder a training run writes: ``--resume``'s run (``RUN`` for ``RUN/weights/X.pt``; a checkpoint
    elsewhere is a :class:`detector.engine.training.resume.ResumeError`), else ``out_dir`` when ``train.resume``,
    else the first free ``out_dir``, ``out_dir2``, ... (:func:`detector.engine.run_folder.next_free_folder`: a fresh
    run never writes into a folder that holds files). The one rule, used by the job's file plan
    (:func:`detector.engine.jobs.job_plans.plan_train`) and by the trainer (:func:`resolve_run_paths`)."""
    if resume is not None:
        return run_folder_of(Path(resume))
    if resume_flag:
        return Path(out_dir)
    return next_free_folder(out_dir, label="train.out_dir")


def resolve_run_paths(out_dir: str, resume: str | Path | None, resume_flag: bool) -> tuple[Path, Path | None]:
    """``(output folder, checkpoint to resume or None)``.

    The folder is :func:`run_folder`'s. ``--resume PATH`` resumes PATH (whether ``out_dir`` and the rest of the
    config agree with the run's is :func:`detector.engine.training.resume.plan_resume`'s check);
    ``train.resume=true`` resumes ``train.out_dir/weights/last.pt``, which must exist.
    """
    out = run_folder(out_dir, resume, resume_flag)
    if resume is not None:
        return out, Path(resume)
    if resume_flag:
        last = out / "weights" / "last.pt"
        if not last.is_file():
            raise FileNotFoundError(
                f"train.resume=true but {last} does not exist; point train.out_dir at the run to continue "
                "or pass --resume PATH"
            )
        return out, last
    if out != Path(out_dir):
        log.info(
            "%s already holds files: this run goes to %s (continue the old one with train.resume=true)", out_dir, out
        )
    return out, None


def shutdown_loader(loader: DataLoader | None) -> None:
    """Stop the persistent worker processes of a DataLoader (no-op otherwise)."""
    if loader is None or loader._iterator is None:
        return
    shutdown = getattr(loader._iterator, "_shutdown_workers", None)  # multi-process iterators only
    if shutdown is not None:
        shutdown()
        loader._iterator = None
