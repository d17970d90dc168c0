"""load_detector: a trainer checkpoint of a real (tiny) Detector is rebuilt from its own config, EMA weights loaded."""

from __future__ import annotations

import pytest
import torch

from detector.config import config_to_dict, load_config
from detector.engine.training.checkpoint import atomic_save, build_checkpoint
from detector.model import Detector, build_model
from detector.model.checkpoint_io import load_detector
from tests.helpers import DEFAULTS, TINY_OVERRIDES, tiny_model


def _save(path, model, ema, cfg) -> None:
    ckpt = build_checkpoint(
        model=model,
        ema_model=ema,
        ema_updates=10,
        optimizer=None,
        scaler=None,
        iteration=40,
        epoch=3,
        best_fitness=0.1,
        config=config_to_dict(cfg),
        class_names=["a", "b"],
        cat_ids=[4, 9],
        num_classes=2,
    )
    atomic_save(ckpt, path)


def test_load_detector_rebuilds_the_model_and_loads_the_ema_weights(tmp_path) -> None:
    # saved as a fine-tune from ImageNet weights would save it: pretrained=true in the stored config
    cfg = load_config(DEFAULTS, [*TINY_OVERRIDES, "model.num_classes=2", "model.backbone.pretrained=true"])
    raw, ema = tiny_model(num_classes=2, seed=1), tiny_model(num_classes=2, seed=2)
    path = tmp_path / "best.pt"
    _save(path, raw, ema, cfg)

    model, got_cfg, meta = load_detector(path, ["eval.conf=0.3"])
    train_data = meta.pop("train_data")
    assert meta == {"class_names": ["a", "b"], "cat_ids": [4, 9], "num_classes": 2, "epoch": 3, "weights": str(path)}
    assert train_data == cfg.data  # the data section the checkpoint was trained with
    assert isinstance(model, Detector) and not model.training and model.class_names == ["a", "b"]
    got, want = model.state_dict(), ema.state_dict()
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)  # EMA, not model_raw
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for a, b in zip(model(x), ema(x), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert got_cfg.eval.conf == 0.3 and got_cfg.model.backbone.width_mult == 0.125
    assert got_cfg.model.backbone.pretrained is False  # the checkpoint holds every weight: no ImageNet download

    run_cfg = load_config(None, ["eval.max_det=7"])  # a CLI config: its model section is replaced by the checkpoint's
    _, got_cfg, _ = load_detector(path, cfg=run_cfg)
    assert got_cfg.eval.max_det == 7 and got_cfg.model.neck.widths == [16, 24, 32] and got_cfg.model.num_classes == 2
    assert run_cfg.model.neck.widths != [16, 24, 32]  # the caller's config is left alone


def test_load_detector_names_the_file_when_the_weights_do_not_fit(tmp_path) -> None:
    cfg = load_config(DEFAULTS, [*TINY_OVERRIDES, "model.num_classes=2"])
    other_neck = build_model(load_config(DEFAULTS, [*TINY_OVERRIDES, "model.neck.widths=[16,24,48]"]), num_classes=2)
    path = tmp_path / "other.pt"
    _save(path, other_neck, None, cfg)  # weights of another neck under this config
    with pytest.raises(ValueError, match=r"other\.pt: the weights do not fit .*missing \[\].*wrong shape \['neck\."):
        load_detector(path)
    with pytest.raises(FileNotFoundError, match=r"checkpoint not found.*missing\.pt"):
        load_detector(tmp_path / "missing.pt")
