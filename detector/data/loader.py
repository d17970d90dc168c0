"""Config -> dataset / DataLoader adapters, the batch collate, samplers and worker seeding.

``build_source``, ``build_dataset`` and ``build_dataloader`` only map typed config sections
(:class:`detector.config.Config`, :class:`detector.config.DataConfig`) to the plain-argument constructors
(:class:`CocoDetection`, :class:`YoloTxtDataset`, :class:`DetectionDataset`, :func:`make_dataloader`).
"""

from __future__ import annotations

import multiprocessing as mp
import random
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler, SequentialSampler

from detector.config import Config, DataConfig, SplitConfig
from detector.data.coco import CocoDetection, DatasetError
from detector.data.dataset import DetectionDataset, Sample
from detector.data.synthetic.shapes_setup import ensure_shapes, split_config
from detector.data.yolo_txt import YoloTxtDataset, looks_like_coco

COCO_HINT = "download COCO 2017 with `python tools/download_coco.py --out data/coco`"
SHAPES_HINT = (
    "or train on the built-in synthetic set: start from configs/shapes_tiny.yaml (data.shapes generates it into "
    "data/shapes on first use; data.train/data.val point there)"
)


YOLO_NAME_SUFFIXES = (".yaml", ".yml", ".names", ".txt")  # what a YOLO split's ``ann`` (class names) is named


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


def worker_start_method(workers: int) -> str | None:
    """How loader workers start: ``"forkserver"`` when this process has already started CUDA (a forked child of a
    process with CUDA's threads may deadlock; Python 3.12 warns about it on every worker), else None: the platform's
    default (``fork`` on Linux, which starts workers fastest and shares the dataset without pickling it)."""
    if workers > 0 and torch.cuda.is_initialized() and "forkserver" in mp.get_all_start_methods():
        return "forkserver"
    return None


def make_dataloader(
    dataset: DetectionDataset,
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
    ``num_samples`` (train, not distributed): samples per pass, see :class:`EpochShuffleSampler` (benchmarks).
    Workers start as :func:`worker_start_method` says: build the loader after the model has moved to its device."""
    if num_samples is not None and (distributed or not train):
        raise ValueError("num_samples is for non-distributed training loaders (benchmarks)")
    sampler: DistributedSampler | EpochShuffleSampler | SequentialSampler
    if distributed:
        sampler = DistributedSampler(dataset, shuffle=train, seed=seed, drop_last=False)
    elif train:
        sampler = EpochShuffleSampler(len(dataset), seed, num_samples)
    else:
        sampler = SequentialSampler(dataset)
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
        multiprocessing_context=worker_start_method(workers),
    )


def set_loader_epoch(loader: DataLoader, epoch: int, total_epochs: int | None = None) -> None:
    """Call before iterating epoch ``epoch``: reseeds the sampler order and the dataset's per-sample generators,
    and switches mosaic off for the last ``close_mosaic`` epochs (works with persistent workers)."""
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)
    if hasattr(loader.dataset, "set_epoch"):
        loader.dataset.set_epoch(epoch, total_epochs)


def _require(path: str, key: str, kind: str, fmt: str) -> Path:
    if not path:
        raise DatasetNotFoundError(f"config key {key} is empty: set it to the {kind} ({COCO_HINT}; {SHAPES_HINT})")
    p = Path(path)
    if not p.exists():
        hint = COCO_HINT if fmt == "coco" else "check the path of your YOLO-txt dataset"
        raise DatasetNotFoundError(
            f"{kind} not found for config key {key}: looked at {p.resolve()}. To get the data: {hint}; {SHAPES_HINT}."
        )
    return p


def build_source(data: DataConfig, split: str) -> CocoDetection | YoloTxtDataset:
    """The source dataset of ``data.<split>`` (no letterbox, no augmentation): :class:`CocoDetection` for format
    'coco' (``ann`` the JSON, ``images`` the folder), :class:`YoloTxtDataset` for 'yolo' (``images`` the images folder
    or a .txt list, ``ann`` the data yaml / names file). Missing paths raise :class:`DatasetNotFoundError`.
    With ``data.shapes`` set, the synthetic set is generated first when the split reads from ``data.shapes.root``
    (:func:`ensure_shapes`, the only place it runs; under DDP rank 0 builds first, see the trainer)."""
    split_cfg = split_config(data, split)
    ensure_shapes(data, split)
    max_bg = data.max_background if split == "train" else None
    source: CocoDetection
    if data.format == "coco":
        ann = _require(split_cfg.ann, f"data.{split}.ann", "COCO annotation file", data.format)
        images = _require(split_cfg.images, f"data.{split}.images", "image folder", data.format)
        if ann.is_file() and ann.suffix.lower() in YOLO_NAME_SUFFIXES:
            raise DatasetError(
                f"data.{split}.ann {ann} is a YOLO data yaml / names file but data.format is coco; set data.format=yolo"
            )
        source = CocoDetection(ann, images, max_background=max_bg)
    elif data.format == "yolo":
        images = _require(split_cfg.images, f"data.{split}.images", "YOLO images folder", data.format)
        names = _require(split_cfg.ann, f"data.{split}.ann", "class names file (data yaml or .names)", data.format)
        if looks_like_coco(names):
            raise DatasetError(f"data.{split}.ann {names} is a COCO JSON but data.format is yolo; set data.format=coco")
        source = YoloTxtDataset(images, names, max_background=max_bg)
    else:
        raise ValueError(f"data.format must be 'coco' or 'yolo', got {data.format!r}")
    if split == "train":
        _require_training_data(source, split_cfg)
    return source


def _require_training_data(source: CocoDetection, split_cfg: SplitConfig) -> None:
    """Raise :class:`DatasetError` when the train split has no image or no box left to learn from (after the
    doctor's drops): training on it would run with a loss of NaN or learn nothing."""
    where = f"data.train (ann={split_cfg.ann}, images={split_cfg.images})"
    if len(source) == 0:
        raise DatasetError(f"{where} has 0 usable images: nothing to train on; check the paths and the data format")
    if not any(len(r.labels) for r in source.records):
        raise DatasetError(
            f"{where} has 0 boxes in its {len(source)} images: nothing to learn; check the annotation file and that "
            "data.format matches it"
        )


def build_dataset(cfg: Config, split: str = "train") -> DetectionDataset:
    """Model-ready dataset for ``split`` ('train' | 'val'): :func:`build_source` of ``cfg.data`` at
    ``cfg.data.img_size``; train: ``cfg.data.augment`` seeded by ``cfg.train.seed``; val: letterbox only, a minimal
    rectangle per image when ``cfg.eval.letterbox`` is 'rect'."""
    train = split == "train"
    return DetectionDataset(
        build_source(cfg.data, split),
        cfg.data.img_size,
        train=train,
        augment=cfg.data.augment if train else None,
        seed=cfg.train.seed,
        rect=not train and cfg.eval.letterbox == "rect",
    )


def build_dataloader(
    dataset: DetectionDataset, cfg: Config, split: str = "train", distributed: bool = False
) -> DataLoader:
    """DataLoader for ``dataset``: ``cfg.train.batch_size`` (train) or ``cfg.eval.batch_size`` (val) images per
    batch, ``cfg.train.workers`` processes, shuffled by ``cfg.train.seed`` (train)."""
    train = split == "train"
    return make_dataloader(
        dataset,
        cfg.train.batch_size if train else cfg.eval.batch_size,
        train=train,
        workers=cfg.train.workers,
        seed=cfg.train.seed,
        distributed=distributed,
    )
