"""Atomic checkpoint writes, checkpoint content, RNG round trip, fine-tuning weight transfer."""

import random

import numpy as np
import pytest
import torch
from torch import nn

from detector.engine.training.checkpoint import atomic_save, build_checkpoint, clean_state_dict, transfer_weights
from detector.engine.training.ema import ModelEMA
from detector.engine.training.rng import get_rng_state, set_rng_state
from detector.engine.training.wrap import unwrap_model
from detector.model.checkpoint_io import CHECKPOINT_KEYS, CheckpointError, load_checkpoint


def test_crash_during_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "weights" / "last.pt"
    atomic_save({"model": {"w": torch.ones(3)}, "epoch": 1}, path)

    def crashing_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 partial checkpoint bytes")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(OSError, match="simulated"):
        atomic_save({"model": {"w": torch.zeros(3)}, "epoch": 2}, path)
    monkeypatch.undo()
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # temp file removed
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 1 and torch.equal(loaded["model"]["w"], torch.ones(3))


def test_atomic_save_replaces(tmp_path):
    path = tmp_path / "x.pt"
    atomic_save({"model": {}, "v": 1}, path)
    atomic_save({"model": {}, "v": 2}, path)
    assert torch.load(path, weights_only=True)["v"] == 2


def test_build_checkpoint_content_is_fp32_unprefixed_and_weights_only_loadable(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)).to(torch.float64)
    ema = ModelEMA(model)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    wrapped = nn.DataParallel(model)  # adds the module. prefix
    ck = build_checkpoint(
        model=wrapped,
        ema_model=ema.module,
        ema_updates=7,
        optimizer=opt,
        scaler=None,
        iteration=42,
        epoch=3,
        best_fitness=0.25,
        config={"train": {"out_dir": tmp_path, "x": (1, 2)}},
        class_names=["a", "b"],
        cat_ids=[3, 9],
        num_classes=2,
    )
    assert set(ck) == set(CHECKPOINT_KEYS)
    assert set(ck["model"]) == set(model.state_dict())
    assert all(v.dtype == torch.float32 for v in ck["model_raw"].values() if v.is_floating_point())
    assert not torch.equal(ck["model"]["0.weight"], ck["model_raw"]["0.weight"])  # EMA vs raw
    assert ck["config"] == {"train": {"out_dir": str(tmp_path), "x": [1, 2]}}
    atomic_save(ck, tmp_path / "c.pt")
    back = load_checkpoint(tmp_path / "c.pt", require_training_state=True)
    assert back["iteration"] == 42 and back["cat_ids"] == [3, 9] and back["ema_updates"] == 7


def test_nan_weights_are_never_written():
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    with pytest.raises(RuntimeError, match="weight.*NaN"):
        build_checkpoint(
            model=model,
            ema_model=None,
            ema_updates=0,
            optimizer=None,
            scaler=None,
            iteration=0,
            epoch=0,
            best_fitness=0.0,
            config={},
            class_names=[],
            cat_ids=[],
            num_classes=0,
        )


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match=r"could not read checkpoint .*junk.pt: ") as e:
        load_checkpoint(tmp_path / "junk.pt")
    assert len(str(e.value).splitlines()) == 1 and e.value.__cause__ is None  # one line, no chained traceback
    torch.save({"model": {}}, tmp_path / "weights.pt")
    with pytest.raises(ValueError, match="cannot resume.*train.weights"):
        load_checkpoint(tmp_path / "weights.pt", require_training_state=True)


def test_rng_round_trip():
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    state = get_rng_state()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


def test_transfer_weights_skips_mismatched_shapes():
    torch.manual_seed(0)
    src = nn.ModuleDict({"body": nn.Conv2d(3, 4, 1), "pred": nn.Conv2d(4, 3 * (5 + 80), 1)})
    dst = nn.ModuleDict({"body": nn.Conv2d(3, 4, 1), "pred": nn.Conv2d(4, 3 * (5 + 2), 1)})
    pred_before = dst["pred"].weight.clone()
    report = transfer_weights(dst, {"module." + k: v for k, v in src.state_dict().items()})
    assert torch.equal(dst["body"].weight, src["body"].weight)
    assert torch.equal(dst["pred"].weight, pred_before)
    assert report["loaded"] == ["body.bias", "body.weight"]
    assert sorted(report["missing"]) == ["pred.bias", "pred.weight"]
    assert any(s.startswith("pred.weight (255, 4, 1, 1) -> (21, 4, 1, 1)") for s in report["skipped"])


def test_clean_state_dict_strips_compile_and_ddp_prefixes():
    out = clean_state_dict({"module._orig_mod.a": torch.ones(1, dtype=torch.float16), "n": torch.tensor(3)})
    assert set(out) == {"a", "n"} and out["a"].dtype == torch.float32 and out["n"].dtype == torch.int64
    assert unwrap_model(nn.DataParallel(nn.Linear(1, 1))).__class__ is nn.Linear
