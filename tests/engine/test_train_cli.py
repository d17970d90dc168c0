"""tools/train.py as a user runs it: overrides, typos, class-count mismatch; trainer-level NaN and fine-tuning."""

import subprocess
import sys

import pytest
import torch

from detector.config import load_config
from detector.engine.training.trainer import Trainer, train
from detector.model.checkpoint_io import load_checkpoint
from tests.helpers import ROOT, TINY_MODELS, tiny_config

TOOL = str(ROOT / "tools" / "train.py")


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shapes")


def _run(*args):
    return subprocess.run([sys.executable, TOOL, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # 3 subprocesses that import torch
def test_typo_in_override_suggests_the_key(tmp_path, shapes_root):
    cfg = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root)
    proc = _run(cfg, "train.epohcs=3")
    assert proc.returncode == 2
    assert "unknown key 'train.epohcs'" in proc.stderr and "did you mean 'train.epochs'" in proc.stderr
    assert not (tmp_path / "out").exists()
    proc = _run(cfg, "train.lr=fast")
    assert proc.returncode == 2 and "train.lr" in proc.stderr and "float" in proc.stderr
    proc = _run(cfg, "train.batch_size=0")  # was a ZeroDivisionError traceback
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "error: command-line override: key 'train.batch_size' must be >= 1, got 0"
    )


def test_override_errors_are_one_line_in_process(tmp_path, shapes_root, capsys):
    from detector.cli.train import main

    cfg = str(tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root))
    assert main([cfg, "train.epohcs=3"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'train.epohcs'" in err and "did you mean 'train.epochs'" in err
    assert main([cfg, "train.batch_size=0"]) == 2
    assert capsys.readouterr().err.strip() == "error: command-line override: key 'train.batch_size' must be >= 1, got 0"
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # subprocesses that train
def test_cli_trains_with_overrides_and_rejects_class_mismatch(tmp_path, shapes_root):
    cfg = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root)
    proc = _run(cfg, "model.num_classes=3")
    assert proc.returncode == 2  # found before training: a ValueError, exit 2 as in every tool (exit_codes.py)
    assert "model.num_classes=3" in proc.stderr and "define 6 categories" in proc.stderr
    proc = _run(cfg, "train.epochs=1", "train.save_batches=0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "params" in proc.stdout and "epoch 1/1" in proc.stdout  # model summary + epoch line
    ckpt = load_checkpoint(tmp_path / "out" / "weights" / "last.pt", require_training_state=True)
    assert ckpt["num_classes"] == 6 and ckpt["config"]["train"]["epochs"] == 1 and len(ckpt["class_names"]) == 6
    assert load_config(tmp_path / "out" / "config.yaml").train.epochs == 1  # resolved config is loadable
    assert not list((tmp_path / "out").glob("train_batch*.jpg"))
    proc = _run(cfg, "train.epochs=2", "--resume", tmp_path / "out" / "weights" / "last.pt")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming" in proc.stdout and "epoch 2/2" in proc.stdout


class _NanLoss:
    def __init__(self, cfg, head):  # as HeadFamily.build_loss(cfg, head)
        self.head = head

    def __call__(self, raw, targets):
        return raw[0].sum() * float("nan"), {"box": 0.0, "obj": 0.0, "cls": 0.0}


def test_trainer_stops_on_repeated_nan_loss_without_writing_weights(tmp_path, shapes_root, monkeypatch):
    from detector.model.registry import get_head_family

    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root, train={"max_nonfinite": 1, "epochs": 1})
    cfg = load_config(path)
    monkeypatch.setattr(get_head_family(cfg.model.head.type), "build_loss", _NanLoss)  # the family the run uses
    torch.manual_seed(0)
    with pytest.warns(RuntimeWarning, match="non-finite loss"), pytest.raises(RuntimeError, match="max_nonfinite=1"):
        train(cfg)
    assert not (tmp_path / "out" / "weights" / "last.pt").exists()


@pytest.mark.slow
@pytest.mark.parametrize("head", ["yolov4", "decoupled"])
def test_finetune_weights_with_other_class_count(tmp_path, shapes_root, detector_log, head):
    from detector.model import build_model

    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root, model=TINY_MODELS[head])
    torch.manual_seed(0)
    source = build_model(load_config(path), num_classes=2)
    torch.save({"model": source.state_dict()}, tmp_path / "src.pt")
    trainer = Trainer(load_config(path, [f"train.weights={tmp_path / 'src.pt'}"]))
    try:
        own = trainer.model.state_dict()
        src = source.state_dict()
        shared = [k for k in src if own[k].shape == src[k].shape]
        changed = [k for k in src if own[k].shape != src[k].shape]
        assert changed and all(".pred" in k or "head" in k for k in changed)
        for k in shared:
            torch.testing.assert_close(own[k], src[k])
        out = detector_log.text
        kept = len(trainer.model.head.config_buffers)  # from the config, not loaded (the YOLOv4 anchors)
        assert f"loaded {len(shared) - kept} tensors" in out and f"{len(changed)} skipped" in out
    finally:
        trainer.close()


OTHER_ANCHORS = [[5, 5, 8, 8, 11, 11], [14, 14, 18, 18, 22, 22], [26, 26, 30, 30, 38, 38]]


def test_finetune_keeps_the_configs_anchors_and_says_so(tmp_path, shapes_root, detector_log):
    from detector.model import build_model

    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root)
    source = build_model(load_config(path, [f"model.head.anchors={OTHER_ANCHORS}"]), num_classes=6)
    torch.save({"model": source.state_dict()}, tmp_path / "src.pt")
    cfg = load_config(path, [f"train.weights={tmp_path / 'src.pt'}"])
    trainer = Trainer(cfg)
    try:
        expected = torch.tensor(cfg.model.head.anchors).view(3, 3, 2)
        torch.testing.assert_close(trainer.model.head.anchors, expected)  # the config's, not the checkpoint's
        torch.testing.assert_close(trainer.ema.module.head.anchors, expected)
        torch.testing.assert_close(trainer.model.head.preds[0].weight, source.head.preds[0].weight)  # weights loaded
        out = detector_log.text
        assert "kept head.anchors from the config (model.head.anchors; it differs from the checkpoint's)" in out
    finally:
        trainer.close()
    torch.save({"model": build_model(cfg, num_classes=6).state_dict()}, tmp_path / "same.pt")
    detector_log.clear()
    Trainer(
        load_config(path, [f"train.weights={tmp_path / 'same.pt'}", "train.out_dir=" + str(tmp_path / "o2")])
    ).close()
    assert "kept head.anchors from the config (model.head.anchors; it equals the checkpoint's)" in (detector_log.text)


@pytest.mark.slow  # trains one epoch
def test_resume_restores_the_checkpoints_anchors(tmp_path, shapes_root):
    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root, train={"epochs": 1, "save_batches": 0})
    train(load_config(path, [f"model.head.anchors={OTHER_ANCHORS}"]))
    last = tmp_path / "out" / "weights" / "last.pt"
    trainer = Trainer(load_config(path, ["train.epochs=2"]), resume=last)  # the config's anchors differ
    try:
        torch.testing.assert_close(
            trainer.model.head.anchors, torch.tensor(OTHER_ANCHORS, dtype=torch.float32).view(3, 3, 2)
        )
    finally:
        trainer.close()
