"""Resume equivalence: 2 epochs in one go == 1 epoch, simulated kill, resume to 2 (CPU, tiny model and data)."""

import csv

import pytest
import torch

from detector.config import load_config
from detector.engine.training.checkpoint import load_checkpoint
from detector.engine.training.trainer import train
from tests.helpers import TINY_MODELS, tiny_config

pytestmark = pytest.mark.slow  # each test trains the tiny detector for 2-3 epochs, twice


class _Killed(Exception):
    pass


def _kill_after_first_epoch(trainer, epoch):
    if epoch == 0:
        raise _Killed


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shapes")


@pytest.mark.parametrize("head", ["yolov4", "decoupled"])
def test_resume_equals_uninterrupted_run(tmp_path, shapes_root, head):
    def cfg(name, **train_kw):
        model = TINY_MODELS[head]
        path = tiny_config(tmp_path / f"{name}.yaml", tmp_path / name, shapes_root, train=train_kw, model=model)
        return load_config(path)

    torch.manual_seed(0)
    straight = train(cfg("straight"))
    assert straight["epochs"] == 2

    with pytest.raises(_Killed):
        train(cfg("resumed"), callbacks=[_kill_after_first_epoch])
    first = load_checkpoint(tmp_path / "resumed" / "weights" / "last.pt", require_training_state=True)
    assert first["epoch"] == 0 and first["iteration"] == 2
    torch.manual_seed(123)  # the checkpoint's RNG state must win over whatever the process did since
    resumed = train(cfg("resumed", resume=True))

    a = load_checkpoint(straight["last"], require_training_state=True)
    b = load_checkpoint(resumed["last"], require_training_state=True)
    assert (a["epoch"], a["iteration"], a["ema_updates"]) == (b["epoch"], b["iteration"], b["ema_updates"]) == (1, 4, 2)
    for key in ("model", "model_raw"):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            torch.testing.assert_close(b[key][name], a[key][name], rtol=1e-6, atol=1e-6, msg=f"{key}.{name}")
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        torch.testing.assert_close(sb["momentum_buffer"], sa["momentum_buffer"], rtol=1e-6, atol=1e-6)
    assert a["best_fitness"] == pytest.approx(b["best_fitness"], abs=1e-9)
    with open(tmp_path / "resumed" / "results.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [0, 1]  # both epochs logged once


def test_resume_can_extend_the_schedule(tmp_path, shapes_root):
    path = tiny_config(tmp_path / "c.yaml", tmp_path / "run", shapes_root, train={"epochs": 1})
    train(load_config(path))
    with pytest.raises(ValueError, match="train.epochs=1.*larger"):
        train(load_config(path, ["train.resume=true"]))

    extended = train(load_config(path, ["train.resume=true", "train.epochs=2"]))
    ck = load_checkpoint(extended["last"], require_training_state=True)
    assert ck["epoch"] == 1 and ck["iteration"] == 4
    assert ck["config"]["train"]["epochs"] == 2
