"""Run environment for training: device, seeding, AMP, output folder, class count, loader shutdown."""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from detector.engine.checkpoint import get_rng_state, set_rng_state
from detector.engine.run_folder import is_free, next_free_folder


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and torch; ``deterministic`` also asks torch/cuDNN for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    elif torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True


def amp_setup(amp: bool, amp_dtype: str, device: torch.device) -> tuple[torch.dtype | None, torch.amp.GradScaler]:
    """Autocast dtype (None = fp32) and a GradScaler (enabled only for fp16). AMP is used on CUDA only."""
    if not amp or device.type != "cuda":
        return None, torch.amp.GradScaler("cpu", enabled=False)
    if amp_dtype == "bf16" and not torch.cuda.is_bf16_supported():
        warnings.warn("this GPU has no bf16 support: training with train.amp_dtype=fp16 instead", stacklevel=2)
        amp_dtype = "fp16"
    if amp_dtype == "bf16":
        return torch.bfloat16, torch.amp.GradScaler("cuda", enabled=False)
    if amp_dtype == "fp16":
        return torch.float16, torch.amp.GradScaler("cuda", enabled=True)
    raise ValueError(f"train.amp_dtype: unknown dtype '{amp_dtype}', expected bf16 or fp16")


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

    ``--resume PATH`` resumes PATH and writes into its run folder (``PATH/../..`` when PATH is ``.../weights/X.pt``,
    else ``train.out_dir``); ``train.resume=true`` resumes ``train.out_dir/weights/last.pt``. A fresh run never
    writes into a folder that holds files: it goes to ``out_dir2``, ``out_dir3``, ... instead (``run_folder``).
    """
    out = Path(out_dir)
    if resume is not None:
        path = Path(resume)
        return (path.parent.parent if path.parent.name == "weights" else out), path
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
        print(f"{out} already holds files: this run goes to {new} (continue the old one with train.resume=true)")
        out = new
    return out, None


def attr(dataset: Any, name: str) -> Any:
    """Read ``name`` from a model-ready dataset or from the source dataset it wraps (``.base``)."""
    if hasattr(dataset, name):
        return getattr(dataset, name)
    return getattr(dataset.base, name)


def wrap_model(
    model: nn.Module, device: torch.device, distributed: bool, sync_bn: bool, compile: bool, log: Callable[[str], None]
) -> nn.Module:
    """The module the training step calls: SyncBatchNorm (CUDA DDP only) -> DDP -> ``torch.compile`` as asked."""
    if distributed:
        if sync_bn and device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        elif sync_bn:
            log("train.sync_bn ignored: SyncBatchNorm needs CUDA devices")
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return torch.compile(model) if compile else model


def shutdown_loader(loader: Any) -> None:
    """Stop the persistent worker processes of a DataLoader (no-op otherwise)."""
    iterator = getattr(loader, "_iterator", None)
    if iterator is not None and hasattr(iterator, "_shutdown_workers"):
        iterator._shutdown_workers()
        loader._iterator = None


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Run a block (e.g. validation) without changing the python/numpy/torch generator states."""
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
