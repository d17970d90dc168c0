"""Model-ready samples: letterbox (val) or mosaic + affine + photometric augmentation (train).

Every random choice of sample ``index`` comes from a generator seeded with ``(seed, epoch, index)``, so a sample
does not depend on the worker that makes it nor on the number of workers.

close_mosaic with persistent workers: the epoch and the mosaic switch live in shared memory
(``multiprocessing.RawValue``) created with the dataset, so ``set_epoch`` / ``set_mosaic`` called in the main
process are seen by worker processes that already exist. Call them before ``iter(loader)`` for the epoch (the
loader's workers start prefetching an epoch's batches when its iterator is created).
"""

from __future__ import annotations

import multiprocessing as mp
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import numpy as np
import torch

from detector.config import AugmentConfig
from detector.data.coco import DatasetWarning
from detector.data.image_io import ImageReadError
from detector.data.letterbox import letterbox, letterbox_boxes
from detector.data.mosaic import mixup, mosaic4
from detector.data.transforms import Photometric, augment_hsv, clip_and_filter, fliplr, random_affine

Sample = tuple[torch.Tensor, torch.Tensor, int, torch.Tensor, torch.Tensor]
MAX_RETRIES = 10


def no_augment() -> AugmentConfig:
    """Letterbox only: every augmentation probability and range 0 (the default of validation datasets)."""
    return AugmentConfig(
        mosaic=0.0,
        mixup=0.0,
        degrees=0.0,
        translate=0.0,
        scale=0.0,
        shear=0.0,
        hsv_h=0.0,
        hsv_s=0.0,
        hsv_v=0.0,
        fliplr=0.0,
        close_mosaic=0,
        photometric=0.0,
    )


class BaseDataset(Protocol):
    """What :class:`DetectionDataset` needs from a source dataset (CocoDetection / YoloTxtDataset)."""

    @property
    def image_ids(self) -> list[int]: ...

    @property
    def coco(self) -> Any: ...  # pycocotools COCO index of the kept images (evaluation, auto-anchor)

    @property
    def cat_ids(self) -> list[int]: ...

    @property
    def class_names(self) -> list[str]: ...

    @property
    def num_classes(self) -> int: ...

    def __len__(self) -> int: ...

    def load_item(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]: ...


class DetectionDataset(torch.utils.data.Dataset):
    """Wraps a source dataset; ``ds[i]`` -> ``(image uint8 [3, S, S], targets float32 [N, 5] rows (label, x1, y1,
    x2, y2) in input pixels, image_id, lb_params float32 [3] (scale, pad_x, pad_y), orig_size int64 [2] (h, w))``.

    Args:
        base: source dataset with ``load_item``.
        img_size: output side S in pixels (multiple of 32).
        train: True = augmentation from ``augment``; False = letterbox only.
        augment: augmentation strengths (``cfg.data.augment``); None: the defaults (train) or :func:`no_augment`.
        seed: base seed of the per-sample generators.
        rect: (val only) pad each image only to a multiple of 32 instead of S x S; the collate pads the batch.

    For mosaic samples ``lb_params`` is (1, 0, 0) and ``orig_size`` (S, S): the sample has no single source image.
    Unreadable images met here are skipped with a warning (counted in ``num_bad_images``): training replaces them
    with another random index; validation returns a grey image without targets (its ground truth stays in the
    evaluation, so it counts as missed).
    """

    def __init__(
        self,
        base: BaseDataset,
        img_size: int,
        *,
        train: bool,
        augment: AugmentConfig | None = None,
        seed: int = 0,
        rect: bool = False,
    ) -> None:
        if img_size % 32:
            raise ValueError(f"img_size must be a multiple of 32 pixels, got {img_size}")
        self.base = base
        self.img_size = img_size
        self.train = train
        self.aug = augment if augment is not None else (AugmentConfig() if train else no_augment())
        self.seed = int(seed)
        self.rect = rect and not train
        self.photometric = Photometric(self.aug.photometric) if train else None
        self._epoch = mp.RawValue("q", 0)
        self._mosaic_on = mp.RawValue("b", 1)
        self._bad = mp.get_context("spawn").Value("i", 0)  # a lock that forked and forkserver workers both accept
        self._warned: set[int] = set()

    # --- the source dataset's interface, passed through (evaluation needs coco / cat_ids) ---
    @property
    def coco(self) -> Any:
        return self.base.coco

    @property
    def cat_ids(self) -> list[int]:
        return self.base.cat_ids

    @property
    def class_names(self) -> list[str]:
        return self.base.class_names

    @property
    def num_classes(self) -> int:
        return self.base.num_classes

    @property
    def image_ids(self) -> list[int]:
        return self.base.image_ids

    # --- epoch control (shared with worker processes) ---
    def set_epoch(self, epoch: int, total_epochs: int | None = None) -> None:
        """Set the epoch used to seed samples; with ``total_epochs``, mosaic/mixup turn off for the last
        ``augment.close_mosaic`` epochs (0-based ``epoch >= total_epochs - close_mosaic``)."""
        self._epoch.value = int(epoch)
        if total_epochs is not None and self.aug.close_mosaic > 0:
            self.set_mosaic(epoch < total_epochs - self.aug.close_mosaic)

    def set_mosaic(self, enabled: bool) -> None:
        """Switch mosaic (and mixup) on or off for every worker."""
        self._mosaic_on.value = 1 if enabled else 0

    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    @property
    def mosaic_enabled(self) -> bool:
        return bool(self._mosaic_on.value)

    @property
    def num_bad_images(self) -> int:
        """Unreadable images skipped so far (all workers)."""
        return int(self._bad.value)

    # --- sample making ---
    def __len__(self) -> int:
        return len(self.base)

    def rng_for(self, index: int) -> np.random.Generator:
        """The generator of sample ``index`` in the current epoch."""
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def __getitem__(self, index: int) -> Sample:
        rng = self.rng_for(index)
        for _ in range(MAX_RETRIES):
            try:
                return self._train_sample(index, rng) if self.train else self._val_sample(index)
            except ImageReadError as e:
                self._note_bad(index, e)
                if not self.train:
                    return self._blank_sample(index)
                index = int(rng.integers(len(self.base)))
        raise RuntimeError(
            f"{MAX_RETRIES} unreadable images in a row while making one training sample; "
            "run tools/check_dataset.py on this dataset"
        )

    def _note_bad(self, index: int, err: Exception) -> None:
        with self._bad.get_lock():
            self._bad.value += 1
        if index not in self._warned:
            self._warned.add(index)
            warnings.warn(f"skipping unreadable image (index {index}): {err}", DatasetWarning, stacklevel=3)

    def _load(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        img, boxes, labels, _ = self.base.load_item(int(i))
        return img, boxes, labels

    def _val_sample(self, index: int) -> Sample:
        img, boxes, labels, image_id = self.base.load_item(index)
        img, lb = letterbox(img, self.img_size, auto=self.rect)
        boxes = letterbox_boxes(boxes, lb)
        return _pack(img, boxes, labels, image_id, (lb.scale, lb.pad_x, lb.pad_y), (lb.orig_h, lb.orig_w))

    def _blank_sample(self, index: int) -> Sample:
        s = self.img_size
        img = np.full((s, s, 3), 114, np.uint8)
        return _pack(
            img, np.zeros((0, 4), np.float32), np.zeros(0, np.int64), self.base.image_ids[index], (1, 0, 0), (s, s)
        )

    def _train_sample(self, index: int, rng: np.random.Generator) -> Sample:
        a, s = self.aug, self.img_size
        geo = partial(random_affine, out_size=s, degrees=a.degrees, translate=a.translate, scale=a.scale, shear=a.shear)
        image_id = self.base.image_ids[index]
        if self.mosaic_enabled and rng.random() < a.mosaic:
            img, boxes, labels = self._mosaic(index, rng, geo)
            if rng.random() < a.mixup:
                other = self._mosaic(int(rng.integers(len(self.base))), rng, geo)
                img, boxes, labels = mixup((img, boxes, labels), other, rng)
            lb, orig = (1.0, 0.0, 0.0), (s, s)
        else:
            img, boxes, labels = self._load(index)
            img, p = letterbox(img, s)
            lb, orig = (p.scale, p.pad_x, p.pad_y), (p.orig_h, p.orig_w)
            img, boxes, labels = geo(img, letterbox_boxes(boxes, p), labels, rng)
        if self.photometric is not None:  # always set for training datasets
            img, boxes, labels = self.photometric(img, boxes, labels, rng)
        img = augment_hsv(img, rng, a.hsv_h, a.hsv_s, a.hsv_v)
        if rng.random() < a.fliplr:
            img, boxes = fliplr(img, boxes)
        boxes, labels = clip_and_filter(boxes, labels, s, s)
        return _pack(img, boxes, labels, image_id, lb, orig)

    def _mosaic(
        self, index: int, rng: np.random.Generator, geo: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mosaic of ``index`` and 3 random images, then ``geo(canvas, boxes, labels, rng)`` (the random affine)."""
        indices = [index, *(int(j) for j in rng.integers(0, len(self.base), 3))]
        canvas, boxes, labels = mosaic4(self._load, indices, self.img_size, rng)
        return geo(canvas, boxes, labels, rng)


def _pack(img, boxes, labels, image_id, lb, orig) -> Sample:
    targets = np.concatenate([labels.reshape(-1, 1).astype(np.float32), boxes.reshape(-1, 4)], axis=1)
    return (
        torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
        torch.from_numpy(targets.astype(np.float32)),
        int(image_id),
        torch.tensor(lb, dtype=torch.float32),
        torch.tensor(orig, dtype=torch.int64),
    )
