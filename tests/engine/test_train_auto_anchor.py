"""Auto-anchor wired into the trainer: reported at the start of a run, replaced with model.head.auto_anchor,
and the replaced anchors are what config.yaml, the checkpoint's config and the model hold (also after resume)."""

import pytest
import torch

from detector.config import load_config
from detector.engine.training.trainer import Trainer, train
from detector.model.checkpoint_io import load_checkpoint
from tests.helpers import TINY_MODELS, tiny_config

# far larger than the 10-30 px boxes of the 64-px shapes set: best possible recall 0
FAR_ANCHORS = [[300, 300, 320, 320, 340, 340], [360, 360, 380, 380, 400, 400], [420, 420, 440, 440, 460, 460]]


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shapes")


def _anchors(head) -> torch.Tensor:
    return head.anchors.detach().cpu().reshape(3, -1)


def test_auto_anchor_replaces_unfit_anchors_in_model_ema_and_config_yaml(tmp_path, shapes_root, detector_log):
    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root)
    cfg = load_config(path, [f"model.head.anchors={FAR_ANCHORS}", "model.head.auto_anchor=true"])
    trainer = Trainer(cfg)
    try:
        saved = load_config(tmp_path / "out" / "config.yaml").model.head.anchors
        assert saved != FAR_ANCHORS and max(max(row) for row in saved) < 64  # k-means anchors, box-sized
        torch.testing.assert_close(_anchors(trainer.model.head), torch.tensor(saved))
        torch.testing.assert_close(_anchors(trainer.ema.module.head), torch.tensor(saved))
        assert trainer.cfg.model.head.anchors == saved
        assert cfg.model.head.anchors == FAR_ANCHORS  # the caller's config object is left alone
        assert "auto-anchor: best possible recall 0.0000 < 0.98" in detector_log.text
    finally:
        trainer.close()


def test_auto_anchor_off_only_reports_the_recall(tmp_path, shapes_root, detector_log):
    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root)
    trainer = Trainer(load_config(path, [f"model.head.anchors={FAR_ANCHORS}"]))
    try:
        torch.testing.assert_close(_anchors(trainer.model.head), torch.tensor(FAR_ANCHORS, dtype=torch.float32))
        assert load_config(tmp_path / "out" / "config.yaml").model.head.anchors == FAR_ANCHORS
        assert "anchors: best possible recall 0.0000" in detector_log.text
        assert "set model.head.auto_anchor=true" in detector_log.text
    finally:
        trainer.close()


def test_anchor_free_head_gets_no_anchor_report(tmp_path, shapes_root, detector_log):
    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root, model=TINY_MODELS["decoupled"])
    Trainer(load_config(path)).close()
    assert "best possible recall" not in detector_log.text


@pytest.mark.slow
def test_checkpoint_and_resume_keep_the_fitted_anchors(tmp_path, shapes_root, detector_log):
    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root, train={"epochs": 1, "save_batches": 0})
    train(load_config(path, [f"model.head.anchors={FAR_ANCHORS}", "model.head.auto_anchor=true"]))
    last = tmp_path / "out" / "weights" / "last.pt"
    ckpt = load_checkpoint(last)
    fitted = ckpt["config"]["model"]["head"]["anchors"]
    assert fitted != FAR_ANCHORS
    torch.testing.assert_close(ckpt["model"]["head.anchors"].reshape(3, -1), torch.tensor(fitted))
    detector_log.clear()
    # resume with a config that names other anchors (and auto-anchor on): the checkpoint's anchors win, no re-fit
    overrides = [f"model.head.anchors={FAR_ANCHORS}", "model.head.auto_anchor=true", "train.epochs=2"]
    trainer = Trainer(load_config(path, overrides), resume=last)
    try:
        torch.testing.assert_close(_anchors(trainer.model.head), torch.tensor(fitted))
        assert load_config(tmp_path / "out" / "config.yaml").model.head.anchors == fitted
        assert "best possible recall" not in detector_log.text
    finally:
        trainer.close()
