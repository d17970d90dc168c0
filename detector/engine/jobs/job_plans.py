"""What the jobs built on a config read and write, declared for :class:`detector.job_files.JobFiles`: the data a
config names (:func:`read_config`) and a training run's folder (:func:`plan_train`)."""

from __future__ import annotations

from pathlib import Path

from detector.config import Config
from detector.engine.training.setup import run_folder
from detector.job_files import JobFiles, same_path

# What a training run writes into its folder (TensorBoard's event files get fresh names)
RUN_FILES = (
    "config.yaml",
    "results.csv",
    "results.png",
    "weights/last.pt",
    "weights/best.pt",
    "train_batch0.jpg",
    "train_batch1.jpg",
    "train_batch2.jpg",
)


def read_config(files: JobFiles, cfg: Config, splits: tuple[str, ...] = ("train", "val")) -> None:
    """Declare the inputs ``cfg`` names: each split's annotation file and image folder (and a YOLO split's label
    folder beside its images), ``train.weights`` and a ``model.backbone.pretrained`` weights file."""
    for split in splits:
        s = getattr(cfg.data, split)
        files.read(f"data.{split}.ann", s.ann, "file")
        files.read(f"data.{split}.images", s.images, "folder")
        if cfg.data.format == "yolo" and s.images and Path(s.images).name == "images":
            files.read(f"the labels beside data.{split}.images", Path(s.images).with_name("labels"), "folder")
    files.read("train.weights", cfg.train.weights, "file")
    pretrained = cfg.model.backbone.pretrained
    if isinstance(pretrained, str):
        files.read("model.backbone.pretrained", pretrained, "file")


def plan_train(cfg: Config, config_path: str | None, resume: str | None) -> JobFiles:
    """The files of ``tools/train.py CONFIG [--resume PATH]``, checked (:meth:`JobFiles.check`): the run folder is
    never an input, inside one, under a file or unwritable; a resumed run rewrites its own checkpoint and
    ``config.yaml`` only."""
    files = JobFiles(exist_ok=True)  # a run folder is fresh, or the resumed run's own
    run = run_folder(cfg.train.out_dir, resume, cfg.train.resume)  # the trainer's own rule
    resuming = resume is not None or cfg.train.resume
    own_config = resuming and config_path is not None and same_path(Path(config_path), run / "config.yaml")
    files.read("CONFIG", config_path, "file", continued=own_config)
    files.read("--resume", resume, "file", must_exist=True, continued=True)
    read_config(files, cfg)
    label = "train.out_dir" if resume is None else "the run folder of --resume"
    files.write_folder(label, run, names=RUN_FILES, option="train.out_dir")
    files.check()
    return files


__all__ = ["RUN_FILES", "plan_train", "read_config"]
