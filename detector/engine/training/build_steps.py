"""The construction steps of :class:`detector.engine.training.trainer.Trainer`, each one a method a subclass may
override: the datasets, the model (fine-tune weights, the head family's start-of-training hook), the optimiser, the
loss, the loaders, and the restore of a training checkpoint on resume."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from detector.config import Config
from detector.data import DetectionDataset, build_dataloader, build_dataset
from detector.engine.training import distributed as dist_utils
from detector.engine.training.checkpoint import restore_training_state
from detector.engine.training.ema import ModelEMA
from detector.engine.training.finetune import load_finetune_weights
from detector.engine.training.optim import build_optimizer, scaled_weight_decay
from detector.engine.training.resume import ResumePlan
from detector.model import Detector, build_model
from detector.model.checkpoint_io import load_checkpoint
from detector.model.registry import build_loss, get_head_family

#: ``criterion(raw maps, targets [M, 6]) -> (scalar loss, {part: float})``, e.g. ``build_loss(cfg.model.head, head)``
Criterion = Callable[[Sequence[torch.Tensor], torch.Tensor], tuple[torch.Tensor, dict[str, float]]]


class TrainerSteps:
    """The overridable construction steps; the state they read and set is the trainer's (declared here)."""

    cfg: Config
    main: bool
    dist: dist_utils.DistInfo
    device: torch.device
    channels_last: bool
    resume_path: Path | None
    resumed: ResumePlan | None
    train_ds: DetectionDataset
    val_ds: DetectionDataset | None
    class_names: list[str]
    num_classes: int
    accumulate: int
    model: Detector
    ema: ModelEMA | None
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    start_epoch: int
    iteration: int
    best_fitness: float
    _log: Callable[[str], None]  # an INFO line on rank 0 (the trainer's logger)

    def build_datasets(self) -> tuple[DetectionDataset, DetectionDataset | None]:
        """``(train, val)`` datasets from ``cfg.data``; val only on rank 0. Rank 0 builds first: building may
        generate the ``data.shapes`` synthetic set, once."""
        train_ds: DetectionDataset | None = None
        val_ds = None
        if self.main:
            train_ds, val_ds = build_dataset(self.cfg, "train"), build_dataset(self.cfg, "val")
        dist_utils.barrier()
        if train_ds is None:
            train_ds = build_dataset(self.cfg, "train")
        return train_ds, val_ds

    def build_model(self) -> Detector:
        """The detector on ``self.device``: built from ``cfg.model``; on a fresh run or a fine-tune (not on resume)
        ``train.weights`` loaded and the head family's start-of-training hook run (e.g. auto-anchor of an
        anchor head), which may update ``cfg.model.head``."""
        model = build_model(self.cfg, num_classes=self.num_classes, class_names=self.class_names)
        if self.resume_path is None:
            if self.cfg.train.weights:
                for line in load_finetune_weights(model, self.cfg.train.weights):
                    self._log(line)
            family = get_head_family(model.head.family, "head family")
            message = family.on_train_start(model.head, self.cfg.model.head, self.train_ds.coco, self.cfg.data.img_size)
            if message is not None:
                self._log(message)
        model.to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        return model

    def build_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        """``train.optimizer`` over ``model``'s parameters, weight decay scaled to the accumulated batch."""
        t = self.cfg.train
        wd = scaled_weight_decay(
            t.weight_decay, t.nominal_batch_size, t.batch_size, self.dist.world_size, self.accumulate
        )
        return build_optimizer(model, t.optimizer, t.lr, t.momentum, wd, t.nesterov)

    def build_criterion(self, model: Detector) -> Criterion:
        """The loss of the model's head family, configured by ``cfg.model.head.loss``."""
        return build_loss(self.cfg.model.head, model.head)

    def build_loaders(self) -> tuple[DataLoader, DataLoader | None]:
        """``(train loader, val loader or None)`` (val on rank 0 only)."""
        train = build_dataloader(self.train_ds, self.cfg, "train", distributed=self.dist.enabled)
        return train, build_dataloader(self.val_ds, self.cfg, "val") if self.val_ds is not None else None

    def _restore(self, path: Path) -> dict[str, Any]:
        """Load model, EMA, optimiser, scaler and counters from a training checkpoint; the head family's resume hook
        brings ``self.cfg.model.head`` in line with the restored head (e.g. anchors refitted by auto-anchor).
        Returns the checkpoint's RNG state (restored last, by ``__init__``)."""
        if self.resumed is not None:  # read (and checked) by plan_resume; not kept for the whole run
            ckpt, self.resumed.checkpoint = self.resumed.checkpoint, {}
        else:
            ckpt = load_checkpoint(path, require_training_state=True)
        restore_training_state(ckpt, model=self.model, ema=self.ema, optimizer=self.optimizer, scaler=self.scaler)
        self.start_epoch, self.iteration = ckpt["epoch"] + 1, ckpt["iteration"]
        self.best_fitness = ckpt["best_fitness"]
        get_head_family(self.model.head.family, "head family").on_resume(self.model.head, self.cfg.model.head)
        return ckpt["rng"]
