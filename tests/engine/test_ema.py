"""EMA math: ramped decay, buffers, DDP-free unwrap."""

import math

import pytest
import torch
from torch import nn

from detector.engine.training.ema import ModelEMA


def test_ema_follows_the_ramped_formula():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ema = ModelEMA(model, decay=0.9, tau=2.0)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    for step in range(1, 4):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        model.train()(torch.randn(4, 3))  # moves BN running stats and num_batches_tracked
        d = 0.9 * (1 - math.exp(-step / 2.0))
        for k, v in model.state_dict().items():
            expected[k] = d * expected[k] + (1 - d) * v if v.is_floating_point() else v.clone()
        ema.update(model)
        assert ema.updates == step
    for k, v in ema.module.state_dict().items():
        torch.testing.assert_close(v, expected[k], rtol=1e-6, atol=1e-6)
    assert ema.module.state_dict()["1.num_batches_tracked"].item() == 3


def test_ema_copy_is_detached_eval_and_independent():
    model = nn.Linear(2, 2)
    ema = ModelEMA(model)
    assert not ema.module.training
    assert all(not p.requires_grad for p in ema.module.parameters())
    with torch.no_grad():
        model.weight.fill_(5.0)
    assert not torch.equal(ema.module.weight, model.weight)
    # first update: decay ~ 0.9999 * (1 - exp(-1/2000)) ~ 5e-4, so the EMA jumps almost onto the model
    ema.update(model)
    assert torch.allclose(ema.module.weight, torch.full((2, 2), 5.0), atol=0.01)


def test_ema_load_state_and_bad_decay():
    model = nn.Linear(2, 2)
    ema = ModelEMA(model)
    state = {k: torch.ones_like(v) for k, v in model.state_dict().items()}
    ema.load_state(state, updates=123)
    assert ema.updates == 123 and torch.equal(ema.module.weight, torch.ones(2, 2))
    with pytest.raises(ValueError, match="ema_decay"):
        ModelEMA(model, decay=1.0)
