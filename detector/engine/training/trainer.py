"""Training loop: ``train(cfg) -> dict``. Single process, or one process per device under ``torchrun`` (DDP).

Outputs in the run folder (rank 0 only): ``config.yaml`` (resolved), ``weights/last.pt`` and ``weights/best.pt``
(best by mAP@[.5:.95]), ``results.csv`` + ``results.png``, TensorBoard events, ``train_batch{0,1,2}.jpg``.
Progress goes to the ``logging`` logger of this module (``tools/train.py`` prints it), the batch bar to stderr.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from detector.config import Config, config_to_dict, save_config
from detector.data import set_loader_epoch
from detector.device import select_device
from detector.engine.evaluation.evaluator import NO_GROUND_TRUTH, STAT_KEYS, evaluate_model
from detector.engine.interrupt import interrupted_message, raise_if_terminated, sigterm_received
from detector.engine.training import distributed as dist_utils
from detector.engine.training.build_steps import Criterion, TrainerSteps
from detector.engine.training.checkpoint import atomic_save, build_checkpoint
from detector.engine.training.ema import ModelEMA
from detector.engine.training.optim import compute_accumulate, schedule_from_config
from detector.engine.training.resume import ResumePlan, plan_resume
from detector.engine.training.rng import preserved_rng, seed_everything, set_rng_state
from detector.engine.training.run_log import LOSS_PARTS, ResultsLogger, epoch_summary, gpu_mem_gb, rss_mb
from detector.engine.training.run_plots import plot_results, plot_train_batch
from detector.engine.training.setup import amp_setup, resolve_num_classes, resolve_run_paths, shutdown_loader
from detector.engine.training.step import TrainStep
from detector.engine.training.wrap import wrap_model
from detector.model.summary import model_summary

log = logging.getLogger(__name__)

Callback = Callable[["Trainer", int], None]


def train(
    cfg: Config,
    *,
    resume: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
    criterion: Criterion | None = None,
) -> dict[str, Any]:
    """Train a detector as ``cfg`` describes; see :class:`Trainer` (``criterion``: replaces the head family's loss).

    ``resume``: a training checkpoint to continue (else ``cfg.train.resume`` decides). A ``KeyboardInterrupt``
    (Ctrl-C, or SIGTERM inside :func:`detector.engine.interrupt.sigterm_as_interrupt`) is logged with how to resume
    and raised again. ``callbacks`` are called as
    ``cb(trainer, epoch)`` on every rank after each epoch's checkpoint is written. Returns ``{"out_dir", "last",
    "best", "best_fitness", "metrics" (last validation's 12 COCO stats; NaN when data.val has no ground-truth box),
    "epochs", "nonfinite_skipped"}``.
    """
    trainer = None
    try:
        trainer = Trainer(cfg, resume=resume, callbacks=callbacks, criterion=criterion)
        return trainer.fit()
    except BaseException as e:  # Ctrl-C, or SIGTERM under sigterm_as_interrupt (or an error it caused)
        if (isinstance(e, KeyboardInterrupt) or sigterm_received()) and (trainer is None or trainer.main):
            log.warning("%s", interrupted_message(e, trainer.out_dir if trainer is not None else None))
        raise
    finally:
        if trainer is not None:
            trainer.close()
        else:
            dist_utils.cleanup_distributed()


class Trainer(TrainerSteps):
    """Builds data, model, optimiser, loss, EMA and logging from the config, restores a checkpoint, runs :meth:`fit`.

    Construction calls, in this order, steps a subclass may override one by one: :meth:`build_datasets`,
    :meth:`build_model`, :meth:`build_optimizer`, :meth:`build_criterion` (skipped when ``criterion`` is given) and
    :meth:`build_loaders` (:class:`detector.engine.training.build_steps.TrainerSteps`). ``self.cfg`` is the run's own
    copy of ``cfg``: auto-anchor and resume write the anchors the model uses into it before it is saved as
    ``config.yaml``.
    """

    def __init__(
        self,
        cfg: Config,
        *,
        resume: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
        criterion: Criterion | None = None,
    ) -> None:
        self.cfg = copy.deepcopy(cfg)
        t = self.cfg.train
        self.callbacks = list(callbacks)
        self.device = select_device(t.device, "train.device", int(os.environ.get("LOCAL_RANK", "0")))
        self.dist = dist_utils.init_distributed(self.device.type)
        self.main = self.dist.is_main
        seed_everything(t.seed + self.dist.rank, t.deterministic)
        self.out_dir, self.resume_path = resolve_run_paths(t.out_dir, resume, t.resume)
        self.resumed: ResumePlan | None = None
        if self.resume_path is not None:  # the run's own config goes on; a conflicting one is refused here
            self.resumed = plan_resume(self.cfg, self.resume_path, self.out_dir)
            self.cfg = self.resumed.config
            t = self.cfg.train
        else:
            t.out_dir = str(self.out_dir)  # config.yaml and the checkpoints name the folder the run is in
        from backbones.registry import check_backbone_name

        check_backbone_name(self.cfg.model.backbone.name)  # before the data is read (or generated)
        self.weights_dir = self.out_dir / "weights"
        self.train_ds, self.val_ds = self.build_datasets()  # first: a dataset that cannot be used leaves no run folder
        if self.main:
            self.weights_dir.mkdir(parents=True, exist_ok=True)
        self.class_names, self.cat_ids = list(self.train_ds.class_names), list(self.train_ds.cat_ids)
        self.num_classes = resolve_num_classes(self.cfg.model.num_classes, len(self.cat_ids), self.cfg.data.train.ann)
        self.channels_last = t.channels_last
        self.model = self.build_model()
        self.ema = ModelEMA(self.model, t.ema_decay) if t.ema and self.main else None
        self.accumulate = compute_accumulate(t.nominal_batch_size, t.batch_size, self.dist.world_size)
        self.optimizer = self.build_optimizer(self.model)
        self.autocast_dtype, self.scaler = amp_setup(t.amp, t.amp_dtype, self.device)
        self.criterion = criterion if criterion is not None else self.build_criterion(self.model)
        self.start_epoch, self.iteration, self.best_fitness = 0, 0, -1.0
        rng_state = self._restore(self.resume_path) if self.resume_path is not None else None
        self.train_model = wrap_model(self.model, self.device, self.dist.enabled, t.sync_bn, t.compile)
        self.train_loader, self.val_loader = self.build_loaders()
        self.iters_per_epoch = len(self.train_loader)
        self.schedule = schedule_from_config(t, self.iters_per_epoch)
        self.step = TrainStep(
            self.train_model,
            self.criterion,
            self.optimizer,
            loss_scale=t.batch_size * self.dist.world_size,
            grad_clip=t.grad_clip,
            max_nonfinite=t.max_nonfinite,
            scaler=self.scaler,
            ema=self.ema,
            autocast_dtype=self.autocast_dtype,
        )
        self.logger = ResultsLogger(self.out_dir, start_epoch=self.start_epoch) if self.main else None
        self.metrics: dict[str, float] = {}
        if self.main:
            save_config(self.cfg, self.out_dir / "config.yaml")
            self._log_header()
        if rng_state is not None:  # last: nothing between here and the first epoch may draw random numbers
            if self.main:
                set_rng_state(rng_state)
            else:
                seed_everything(t.seed + self.dist.rank + 1000 * self.start_epoch)

    # ------------------------------------------------------------------ loop
    def fit(self) -> dict[str, Any]:
        """Train ``start_epoch .. train.epochs - 1``; validate, log and checkpoint after each epoch."""
        t = self.cfg.train
        for epoch in range(self.start_epoch, t.epochs):
            start = time.time()
            losses, lr = self.train_one_epoch(epoch)
            raise_if_terminated()
            evaluate = (epoch + 1) % max(t.eval_interval, 1) == 0 or epoch == t.epochs - 1
            metrics = self.validate() if evaluate else None
            if self.logger is not None:
                row = {"epoch": epoch, **{f"{k}_loss": v for k, v in losses.items()}, "lr": lr}
                if metrics is not None:
                    row.update(mAP=metrics["AP"], AP50=metrics["AP50"], AP75=metrics["AP75"])
                row.update(time_s=time.time() - start, rss_mb=rss_mb())
                self.logger.log_epoch(row)
                plot_results(self.logger.csv_path)
                self._log(epoch_summary(row, t.epochs))
                self._save(epoch, metrics)
            dist_utils.barrier()
            for cb in self.callbacks:
                cb(self, epoch)
        self._log(
            f"done: {t.epochs} epochs, best mAP@[.5:.95] {self._best_text()}; results in {self.out_dir}"
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
        with bar:  # closed (its line ended) also when Ctrl-C or SIGTERM stops the epoch: the stop message is a line
            for i, batch in enumerate(bar):
                raise_if_terminated()  # a SIGTERM whose exception was swallowed (in a weakref callback) stops here
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
                    parts = zip(LOSS_PARTS, sums.tolist(), strict=False)
                    shown = " ".join(f"{k} {v / n:.4f}" for k, v in parts if v == v)
                    bar.set_postfix_str(f"mem {gpu_mem_gb(self.device):.1f}G {shown} lr {lr:.2e} {speed:.0f} img/s")
        self.iteration = (epoch + 1) * nb
        sums = dist_utils.all_reduce_sum(sums.to(self.device)).cpu() if self.dist.enabled else sums
        n = sums[-1].item()
        means = [s.item() / n if n else math.nan for s in sums[:-1]]
        return dict(zip(names, means, strict=True)), lr

    def validate(self) -> dict[str, float] | None:
        """COCO-evaluate the EMA (or raw) model on rank 0; the training RNG streams are left untouched."""
        metrics = None
        if self.main and self.val_ds is not None and self.val_loader is not None:
            model = self.ema.module if self.ema is not None else self.model
            with preserved_rng():
                result, _ = evaluate_model(
                    model, self.val_loader, self.val_ds, self.cfg.eval, self.device, autocast_dtype=self.autocast_dtype
                )
            nan = result["AP"] < 0  # pycocotools' -1: data.val has no box, AP is undefined (NaN here, not -1)
            metrics = {k: math.nan if nan else float(result[k]) for k in STAT_KEYS}
            self.metrics = metrics
        dist_utils.barrier()
        return metrics

    # ------------------------------------------------------------------ helpers
    def _save(self, epoch: int, metrics: dict[str, float] | None) -> None:
        improved = metrics is not None and metrics["AP"] > self.best_fitness
        if metrics is not None and improved:
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

    def _best_text(self) -> str:
        """The best mAP for the final line; "no ground truth" when validation had no box to find (no best.pt)."""
        if self.best_fitness < 0 and self.metrics and all(math.isnan(v) for v in self.metrics.values()):
            return f"{NO_GROUND_TRUTH} (data.val.ann {self.cfg.data.val.ann} has no boxes; no best.pt, use last.pt)"
        return f"{max(self.best_fitness, 0):.4f}"

    def _log_header(self) -> None:
        t = self.cfg.train
        self._log(model_summary(self.model, self.cfg.data.img_size))
        self._log(
            f"train: {len(self.train_ds)} images, {self.num_classes} classes, {self.iters_per_epoch} iterations/epoch, "
            f"batch {t.batch_size} x {self.dist.world_size} process(es), accumulate {self.accumulate} "
            f"(nominal {t.nominal_batch_size}), warmup {self.schedule.warmup_iters} iterations, device {self.device}, "
            f"amp {self.autocast_dtype or 'off'}; output {self.out_dir}"
        )
        if self.resume_path is not None:
            changed = (
                f" ({', '.join(self.resumed.changed)})" if self.resumed is not None and self.resumed.changed else ""
            )
            self._log(f"resuming {self.resume_path} at epoch {self.start_epoch + 1}/{t.epochs}{changed}")

    def _log(self, text: str) -> None:
        if self.main:
            log.info("%s", text)

    def close(self) -> None:
        """Flush logs, stop loader workers, leave the process group (safe to call twice)."""
        if self.logger is not None:
            self.logger.close()
            self.logger = None
        for loader in (self.train_loader, self.val_loader):
            shutdown_loader(loader)
        dist_utils.cleanup_distributed()
