"""Config -> dataset / DataLoader adapters, the batch collate, samplers and worker seeding.

``build_dataset`` and ``build_dataloader`` only map ``cfg`` fields to the plain-argument constructors
(:class:`CocoDetection`, :class:`YoloTxtDataset`, :class:`DetectionDataset`, :func:`make_dataloader`).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from detector.data.coco import CocoDetection
from detector.data.dataset import DetectionDataset, Sample
from detector.data.shapes_setup import ensure_shapes
from detector.data.transforms import AugmentParams
from detector.data.yolo_txt import YoloTxtDataset

COCO_HINT = "download COCO 2017 with `python tools/download_coco.py --out data/coco`"
SHAPES_HINT = (
    "or train on the built-in synthetic set: start from configs/shapes_tiny.yaml (data.shapes generates it into "
    "data/shapes on first use; data.train/data.val point there)"
)


class DatasetNotFoundError(FileNotFoundError):
    """A data path from the config does not exist; the message names the key, the path and how to get the data."""


def collate(samples: list[Sample]) -> dict[str, torch.Tensor]:
    """Batch dict of docs/ARCHITECTURE.md: ``images`` uint8 [B, 3, H, W] (smaller images padded right/bottom with
    114), ``targets`` float32 [M, 6] (batch_index, label, x1, y1, x2, y2) input pixels, ``image_ids`` int64 [B],
    ``lb_params`` float32 [B, 3] (scale, pad_x, pad_y), ``orig_sizes`` int64 [B, 2] (h, w)."""
    imgs = [s[0] for s in samples]
    h, w = max(i.shape[1] for i in imgs), max(i.shape[2] for i in imgs)
    images = torch.full((len(imgs), 3, h, w), 114, dtype=torch.uint8)
    for b, img in enumerate(imgs):
        images[b, :, : img.shape[1], : img.shape[2]] = img
    targets = [torch.cat([torch.full((len(s[1]), 1), float(b)), s[1]], dim=1) for b, s in enumerate(samples)]
    return {
        "images": images,
        "targets": torch.cat(targets).reshape(-1, 6) if targets else torch.zeros((0, 6)),
        "image_ids": torch.tensor([s[2] for s in samples], dtype=torch.int64),
        "lb_params": torch.stack([s[3] for s in samples]),
        "orig_sizes": torch.stack([s[4] for s in samples]),
    }


class EpochShuffleSampler(Sampler[int]):
    """Random order that depends only on (seed, epoch): call ``set_epoch`` each epoch (as with DistributedSampler).

    ``num_samples`` (default ``n``): indices per pass; more than ``n`` chains the orders of epochs ``epoch``,
    ``epoch + 1``, ... into one long pass, so a benchmark on a small dataset never waits for an epoch restart.
    """

    def __init__(self, n: int, seed: int = 0, num_samples: int | None = None) -> None:
        self.n, self.seed, self.epoch = n, int(seed), 0
        self.num_samples = n if num_samples is None or n == 0 else int(num_samples)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        passes = -(-self.num_samples // self.n) if self.n else 0
        order = [np.random.default_rng([self.seed, self.epoch + p, 7]).permutation(self.n) for p in range(passes)]
        return iter(np.concatenate(order)[: self.num_samples].tolist() if order else [])

    def __len__(self) -> int:
        return self.num_samples


def seed_worker(worker_id: int) -> None:
    """Seed python/numpy in a loader worker from torch's per-worker seed (samples use their own generators).

    OpenCV's thread settings are deliberately not touched here: ``cv2.setNumThreads`` in a forked worker can
    deadlock on the thread pool inherited from the parent."""
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def make_dataloader(
    dataset: torch.utils.data.Dataset,
    batch_size: int,
    *,
    train: bool,
    workers: int = 0,
    seed: int = 0,
    distributed: bool = False,
    pin_memory: bool | None = None,
    persistent_workers: bool = True,
    num_samples: int | None = None,
) -> DataLoader:
    """DataLoader with the batch dict collate. Train: shuffled by (seed, epoch), last partial batch dropped when the
    dataset holds more than one batch. ``distributed`` uses DistributedSampler (the process group must exist).
    ``num_samples`` (train, not distributed): samples per pass, see :class:`EpochShuffleSampler` (benchmarks)."""
    if num_samples is not None and (distributed or not train):
        raise ValueError("num_samples is for non-distributed training loaders (benchmarks)")
    if distributed:
        sampler: Sampler = DistributedSampler(dataset, shuffle=train, seed=seed, drop_last=False)
    elif train:
        sampler = EpochShuffleSampler(len(dataset), seed, num_samples)
    else:
        sampler = torch.utils.data.SequentialSampler(dataset)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        drop_last=train and len(sampler) > batch_size,
        persistent_workers=persistent_workers and workers > 0,
        worker_init_fn=seed_worker,
        generator=generator,
        prefetch_factor=2 if workers > 0 else None,
    )


def set_loader_epoch(loader: DataLoader, epoch: int, total_epochs: int | None = None) -> None:
    """Call before iterating epoch ``epoch``: reseeds the sampler order and the dataset's per-sample generators,
    and switches mosaic off for the last ``close_mosaic`` epochs (works with persistent workers)."""
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)
    if hasattr(loader.dataset, "set_epoch"):
        loader.dataset.set_epoch(epoch, total_epochs)


def _require(path: object, key: str, kind: str, fmt: str) -> Path:
    if not path:
        raise DatasetNotFoundError(f"config key {key} is empty: set it to the {kind} ({COCO_HINT}; {SHAPES_HINT})")
    p = Path(str(path))
    if not p.exists():
        hint = COCO_HINT if fmt == "coco" else "check the path of your YOLO-txt dataset"
        raise DatasetNotFoundError(
            f"{kind} not found for config key {key}: looked at {p.resolve()}. To get the data: {hint}; {SHAPES_HINT}."
        )
    return p


def build_dataset(cfg: object, split: str = "train") -> DetectionDataset:
    """Dataset for ``split`` ('train' | 'val') from ``cfg.data`` (and cfg.train.seed, cfg.eval.letterbox).

    format 'coco': ``data.<split>.ann`` is the JSON, ``.images`` the folder. format 'yolo': ``.images`` is the images
    folder (or a .txt list), ``.ann`` the data yaml / names file. Missing paths raise :class:`DatasetNotFoundError`.
    With ``data.shapes`` set, the synthetic set is generated first when a split reads from ``data.shapes.root``
    (:func:`ensure_shapes`, the only place it runs; under DDP rank 0 builds first, see the trainer).
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    data = cfg.data
    ensure_shapes(data, split)
    split_cfg = getattr(data, split) if not isinstance(data, dict) else data[split]
    get = split_cfg.get if isinstance(split_cfg, dict) else (lambda k: getattr(split_cfg, k, None))
    fmt = str(getattr(data, "format", "coco") or "coco")
    train = split == "train"
    max_bg = getattr(data, "max_background", None) if train else None
    if fmt == "coco":
        ann = _require(get("ann"), f"data.{split}.ann", "COCO annotation file", fmt)
        images = _require(get("images"), f"data.{split}.images", "image folder", fmt)
        base: CocoDetection = CocoDetection(ann, images, max_background=max_bg)
    elif fmt == "yolo":
        images = _require(get("images"), f"data.{split}.images", "YOLO images folder", fmt)
        names = _require(get("ann"), f"data.{split}.ann", "class names file (data yaml or .names)", fmt)
        base = YoloTxtDataset(images, names, max_background=max_bg)
    else:
        raise ValueError(f"data.format must be 'coco' or 'yolo', got {fmt!r}")
    train_cfg, eval_cfg = getattr(cfg, "train", None), getattr(cfg, "eval", None)
    return DetectionDataset(
        base,
        int(data.img_size),
        train=train,
        augment=AugmentParams.from_cfg(getattr(data, "augment", None)) if train else None,
        seed=int(getattr(train_cfg, "seed", 0) or 0),
        rect=not train and getattr(eval_cfg, "letterbox", "square") == "rect",
    )


def build_dataloader(dataset: DetectionDataset, cfg: object, split: str = "train", distributed: bool = False):
    """DataLoader for ``dataset`` with cfg.train.batch_size / workers / seed (val: cfg.eval.batch_size)."""
    train = split == "train"
    batch_size = cfg.train.batch_size if train else getattr(cfg.eval, "batch_size", cfg.train.batch_size)
    return make_dataloader(
        dataset,
        int(batch_size),
        train=train,
        workers=int(cfg.train.workers),
        seed=int(cfg.train.seed),
        distributed=distributed,
    )
