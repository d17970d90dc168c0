"""Training loop: ``train(cfg) -> dict``. Single process, or one process per device under ``torchrun`` (DDP).

Outputs in the run folder (rank 0 only): ``config.yaml`` (resolved), ``weights/last.pt`` and ``weights/best.pt``
(best by mAP@[.5:.95]), ``results.csv`` + ``results.png``, TensorBoard events, ``train_batch{0,1,2}.jpg``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from detector.config import config_to_dict, save_config
from detector.data import set_loader_epoch
from detector.device import select_device
from detector.engine import distributed as dist_utils
from detector.engine.checkpoint import atomic_save, build_checkpoint, load_checkpoint, set_rng_state, transfer_weights
from detector.engine.checkpoint import unwrap_model as unwrap
from detector.engine.ema import ModelEMA
from detector.engine.logging import LOSS_PARTS, ResultsLogger, epoch_summary, gpu_mem_gb, rss_mb
from detector.engine.optim import (
    LRSchedule,
    build_optimizer,
    compute_accumulate,
    scaled_weight_decay,
    warmup_bias_lr,
    warmup_iterations,
)
from detector.engine.plots import plot_results, plot_train_batch
from detector.engine.setup import (
    amp_setup,
    attr,
    preserved_rng,
    resolve_num_classes,
    resolve_run_paths,
    seed_everything,
    shutdown_loader,
    wrap_model,
)
from detector.engine.step import TrainStep

Callback = Callable[["Trainer", int], None]


def train(cfg: Any, *, resume: str | Path | None = None, callbacks: Sequence[Callback] = ()) -> dict[str, Any]:
    """Train a detector as ``cfg`` (a :class:`detector.config.Config`) describes; see :class:`Trainer`.

    ``resume``: a training checkpoint to continue (else ``cfg.train.resume`` decides). ``callbacks`` are called as
    ``cb(trainer, epoch)`` on every rank after each epoch's checkpoint is written. Returns ``{"out_dir", "last",
    "best", "best_fitness", "metrics" (last validation's 12 COCO stats), "epochs", "nonfinite_skipped"}``.
    """
    trainer = None
    try:
        trainer = Trainer(cfg, resume=resume, callbacks=callbacks)
        return trainer.fit()
    finally:
        if trainer is not None:
            trainer.close()
        else:
            dist_utils.cleanup_distributed()


class Trainer:
    """Builds data, model, optimiser, EMA and logging from the config, restores a checkpoint, runs :meth:`fit`."""

    def __init__(self, cfg: Any, *, resume: str | Path | None = None, callbacks: Sequence[Callback] = ()) -> None:
        from detector.data import build_dataloader, build_dataset
        from detector.model import build_model
        from detector.registry import build_loss

        self.cfg, t = cfg, cfg.train
        self.callbacks = list(callbacks)
        self.device = select_device(t.device, "train.device", int(os.environ.get("LOCAL_RANK", "0")))
        self.dist = dist_utils.init_distributed(self.device.type)
        self.main = self.dist.is_main
        seed_everything(t.seed + self.dist.rank, t.deterministic)
        self.out_dir, resume_path = resolve_run_paths(t.out_dir, resume, t.resume)
        self.weights_dir = self.out_dir / "weights"
        if self.main:
            self.weights_dir.mkdir(parents=True, exist_ok=True)

        # --- data ---
        if self.main:  # rank 0 first: build_dataset may generate data.shapes' synthetic set, once
            self.train_ds, self.val_ds = build_dataset(cfg, "train"), build_dataset(cfg, "val")
        dist_utils.barrier()
        if not self.main:
            self.train_ds, self.val_ds = build_dataset(cfg, "train"), None
        self.class_names = list(attr(self.train_ds, "class_names"))
        self.cat_ids = list(attr(self.train_ds, "cat_ids"))
        self.num_classes = resolve_num_classes(cfg.model.num_classes, len(self.cat_ids), cfg.data.train.ann)

        # --- model ---
        model = build_model(cfg, num_classes=self.num_classes, class_names=self.class_names)
        if t.weights and resume_path is None:
            self._load_finetune_weights(model, t.weights)
        model.to(self.device)
        self.channels_last = t.channels_last
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        self.model = model
        self.ema = ModelEMA(model, t.ema_decay) if t.ema and self.main else None
        ws = self.dist.world_size
        self.accumulate = compute_accumulate(t.nominal_batch_size, t.batch_size, ws)
        wd = scaled_weight_decay(t.weight_decay, t.nominal_batch_size, t.batch_size, ws, self.accumulate)
        self.optimizer = build_optimizer(model, t.optimizer, t.lr, t.momentum, wd, t.nesterov)
        self.autocast_dtype, self.scaler = amp_setup(t.amp, t.amp_dtype, self.device)
        self.criterion = build_loss(cfg.loss, model.head)

        # --- resume ---
        self.start_epoch, self.iteration, self.best_fitness, ckpt = 0, 0, -1.0, None
        if resume_path is not None:
            ckpt = load_checkpoint(resume_path, require_training_state=True)
            model.load_state_dict(ckpt["model_raw"])
            if self.ema is not None:
                self.ema.load_state(ckpt["model"], ckpt["ema_updates"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
            if ckpt["scaler"] is not None and self.scaler.is_enabled():
                self.scaler.load_state_dict(ckpt["scaler"])
            self.start_epoch, self.iteration = ckpt["epoch"] + 1, ckpt["iteration"]
            self.best_fitness = ckpt["best_fitness"]
            if self.start_epoch >= t.epochs:
                raise ValueError(
                    f"{resume_path} already finished epoch {self.start_epoch} of train.epochs={t.epochs}; "
                    f"pass a larger train.epochs=N to train further"
                )

        self.train_model = wrap_model(model, self.device, self.dist.enabled, t.sync_bn, t.compile, self._log)

        # --- loaders, schedule, step ---
        self.train_loader = build_dataloader(self.train_ds, cfg, "train", distributed=self.dist.enabled)
        self.val_loader = build_dataloader(self.val_ds, cfg, "val") if self.main else None
        self.iters_per_epoch = len(self.train_loader)
        total = t.epochs * self.iters_per_epoch
        self.schedule = LRSchedule(
            base_lr=t.lr,
            total_iters=total,
            warmup_iters=warmup_iterations(t.warmup_epochs, self.iters_per_epoch, total),
            scheduler=t.scheduler,
            final_lr_ratio=t.final_lr_ratio,
            warmup_bias_lr=warmup_bias_lr(t.warmup_bias_lr, t.optimizer),
            momentum=t.momentum,
        )
        self.step = TrainStep(
            self.train_model,
            self.criterion,
            self.optimizer,
            loss_scale=t.batch_size * ws,
            grad_clip=t.grad_clip,
            max_nonfinite=t.max_nonfinite,
            scaler=self.scaler,
            ema=self.ema,
            autocast_dtype=self.autocast_dtype,
        )
        self.logger = ResultsLogger(self.out_dir, start_epoch=self.start_epoch) if self.main else None
        self.metrics: dict[str, float] = {}
        if self.main:
            save_config(cfg, self.out_dir / "config.yaml")
            self._print_header(model, resume_path)
        if ckpt is not None:  # last: nothing between here and the first epoch may draw random numbers
            if self.main:
                set_rng_state(ckpt["rng"])
            else:
                seed_everything(t.seed + self.dist.rank + 1000 * self.start_epoch)

    # ------------------------------------------------------------------ loop
    def fit(self) -> dict[str, Any]:
        """Train ``start_epoch .. train.epochs - 1``; validate, log and checkpoint after each epoch."""
        t = self.cfg.train
        for epoch in range(self.start_epoch, t.epochs):
            start = time.time()
            losses, lr = self.train_one_epoch(epoch)
            evaluate = (epoch + 1) % max(t.eval_interval, 1) == 0 or epoch == t.epochs - 1
            metrics = self.validate() if evaluate else None
            if self.main:
                row = {"epoch": epoch, **{f"{k}_loss": v for k, v in losses.items()}, "lr": lr}
                if metrics is not None:
                    row.update(mAP=metrics["AP"], AP50=metrics["AP50"], AP75=metrics["AP75"])
                row.update(time_s=time.time() - start, rss_mb=rss_mb())
                self.logger.log_epoch(row)
                plot_results(self.logger.csv_path)
                print(epoch_summary(row, t.epochs), flush=True)
                self._save(epoch, metrics)
            dist_utils.barrier()
            for cb in self.callbacks:
                cb(self, epoch)
        self._log(
            f"done: {t.epochs} epochs, best mAP@[.5:.95] {max(self.best_fitness, 0):.4f}; results in {self.out_dir}"
            + (f" ({self.step.guard.total} non-finite steps skipped)" if self.step.guard.total else "")
        )
        return {
            "out_dir": str(self.out_dir),
            "last": str(self.weights_dir / "last.pt"),
            "best": str(self.weights_dir / "best.pt"),
            "best_fitness": float(self.best_fitness),
            "metrics": dict(self.metrics),
            "epochs": int(t.epochs),
            "nonfinite_skipped": self.step.guard.total,
        }

    def train_one_epoch(self, epoch: int) -> tuple[dict[str, float], float]:
        """One pass over the training loader. Returns the epoch's mean losses (all ranks) and the last LR."""
        t, nb = self.cfg.train, self.iters_per_epoch
        self.train_model.train()
        set_loader_epoch(self.train_loader, epoch, t.epochs)
        names = (*LOSS_PARTS, "total")
        sums = torch.zeros(len(names) + 1, dtype=torch.float64)  # loss parts, total, count (parts absent: NaN)
        lr, tic = 0.0, time.time()
        bar = tqdm(self.train_loader, total=nb, desc=f"epoch {epoch + 1}/{t.epochs}", disable=not self.main)
        for i, batch in enumerate(bar):
            ni = epoch * nb + i
            lr = self.schedule.apply(self.optimizer, ni)
            if self.main and epoch == 0 and i < t.save_batches:
                plot_train_batch(
                    batch["images"], batch["targets"], self.out_dir / f"train_batch{i}.jpg", self.class_names
                )
            images = batch["images"].to(self.device, non_blocking=True).float() / 255.0
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            targets = batch["targets"].to(self.device, non_blocking=True)
            out = self.step(
                images,
                targets,
                step=(i + 1) % self.accumulate == 0 or i == nb - 1,
                where=f"epoch {epoch} iteration {i}",
            )
            if out is not None:
                sums += torch.tensor([out.get(k, math.nan) for k in names] + [1.0], dtype=torch.float64)
            if self.main:
                n = max(sums[-1].item(), 1.0)
                speed = (i + 1) * images.shape[0] * self.dist.world_size / max(time.time() - tic, 1e-9)
                shown = " ".join(f"{k} {v / n:.4f}" for k, v in zip(LOSS_PARTS, sums.tolist(), strict=False) if v == v)
                bar.set_postfix_str(f"mem {gpu_mem_gb(self.device):.1f}G {shown} lr {lr:.2e} {speed:.0f} img/s")
        bar.close()
        self.iteration = (epoch + 1) * nb
        sums = dist_utils.all_reduce_sum(sums.to(self.device)).cpu() if self.dist.enabled else sums
        n = sums[-1].item()
        means = [s.item() / n if n else math.nan for s in sums[:-1]]
        return dict(zip(names, means, strict=True)), lr

    def validate(self) -> dict[str, float] | None:
        """COCO-evaluate the EMA (or raw) model on rank 0; the training RNG streams are left untouched."""
        from detector.engine.evaluator import evaluate_model

        metrics = None
        if self.main:
            model = self.ema.module if self.ema is not None else unwrap(self.model)
            with preserved_rng():
                gt = self.val_ds if hasattr(self.val_ds, "coco") else self.val_ds.base
                result, _ = evaluate_model(
                    model, self.val_loader, gt, self.cfg.eval, self.device, autocast_dtype=self.autocast_dtype
                )
            metrics = {k: float(result[k]) for k in ("AP", "AP50", "AP75", "APs", "APm", "APl")}
            metrics.update({k: float(result[k]) for k in ("AR1", "AR10", "AR100", "ARs", "ARm", "ARl")})
            self.metrics = metrics
        dist_utils.barrier()
        return metrics

    # ------------------------------------------------------------------ helpers
    def _save(self, epoch: int, metrics: dict[str, float] | None) -> None:
        improved = metrics is not None and metrics["AP"] > self.best_fitness
        if improved:
            self.best_fitness = metrics["AP"]
        ckpt = build_checkpoint(
            model=self.model,
            ema_model=self.ema.module if self.ema is not None else None,
            ema_updates=self.ema.updates if self.ema is not None else 0,
            optimizer=self.optimizer,
            scaler=self.scaler,
            iteration=self.iteration,
            epoch=epoch,
            best_fitness=self.best_fitness,
            config=config_to_dict(self.cfg),
            class_names=self.class_names,
            cat_ids=self.cat_ids,
            num_classes=self.num_classes,
        )
        atomic_save(ckpt, self.weights_dir / "last.pt")
        if improved:
            atomic_save(ckpt, self.weights_dir / "best.pt")

    def _load_finetune_weights(self, model: nn.Module, path: str) -> None:
        """Fine-tuning (``train.weights``): load matching tensors, but keep the buffers the head takes from the config
        (``head.config_buffers``, e.g. the YOLOv4 anchors): the run uses what its config says. Resume restores all."""
        state = load_checkpoint(path)["model"]
        keep = [f"head.{name}" for name in model.head.config_buffers]
        report = transfer_weights(model, state, keep=keep)
        self._log(f"weights: loaded {len(report['loaded'])} tensors from {path}; {len(report['skipped'])} skipped")
        for line in report["skipped"]:
            self._log(f"  skipped (re-initialised) {line}")
        for name in report["kept"]:
            key = f"model.head.{model.head.family}.{name.rsplit('.', 1)[-1]}"
            relation = "differs from" if name in report["kept_differ"] else "equals"
            self._log(f"  kept {name} from the config ({key}; it {relation} the checkpoint's)")
        if not report["loaded"]:
            raise ValueError(f"train.weights={path}: no tensor matches this model (another backbone or neck?)")

    def _print_header(self, model: nn.Module, resume_path: Path | None) -> None:
        from detector.summary import model_summary

        t = self.cfg.train
        print(model_summary(model, self.cfg.data.img_size), flush=True)
        print(
            f"train: {len(self.train_ds)} images, {self.num_classes} classes, {self.iters_per_epoch} iterations/epoch, "
            f"batch {t.batch_size} x {self.dist.world_size} process(es), accumulate {self.accumulate} "
            f"(nominal {t.nominal_batch_size}), warmup {self.schedule.warmup_iters} iterations, device {self.device}, "
            f"amp {self.autocast_dtype or 'off'}; output {self.out_dir}",
            flush=True,
        )
        if resume_path is not None:
            print(f"resuming {resume_path} at epoch {self.start_epoch + 1}/{t.epochs}", flush=True)

    def _log(self, text: str) -> None:
        if self.main:
            print(text, flush=True)

    def close(self) -> None:
        """Flush logs, stop loader workers, leave the process group (safe to call twice)."""
        if getattr(self, "logger", None) is not None:
            self.logger.close()
            self.logger = None
        for loader in (getattr(self, "train_loader", None), getattr(self, "val_loader", None)):
            shutdown_loader(loader)
        dist_utils.cleanup_distributed()
