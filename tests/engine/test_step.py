"""TrainStep: accumulation, clipping, non-finite loss handling."""

import pytest
import torch
from torch import nn

from detector.engine.training.ema import ModelEMA
from detector.engine.training.step import NonFiniteGuard, TrainStep


class _Criterion:
    """Stand-in for YoloLoss: mean squared output; returns NaN on the calls listed in ``nan_calls``."""

    def __init__(self, nan_calls=()):
        self.calls = 0
        self.nan_calls = set(nan_calls)

    def __call__(self, raw, targets):
        loss = raw.pow(2).mean()
        if self.calls in self.nan_calls:
            loss = loss * float("nan")
        self.calls += 1
        return loss, {"box": 0.1, "obj": 0.2, "cls": 0.3}


def _setup(nan_calls=(), max_nonfinite=3, ema=False):
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = TrainStep(
        model,
        _Criterion(nan_calls),
        opt,
        grad_clip=10.0,
        max_nonfinite=max_nonfinite,
        ema=ModelEMA(model) if ema else None,
    )
    return model, opt, step


def test_finite_step_updates_weights_and_ema():
    model, _, step = _setup(ema=True)
    before = model.weight.clone()
    out = step(torch.rand(3, 4), torch.zeros(0, 6), step=True)
    assert out["box"] == 0.1 and out["total"] > 0
    assert not torch.equal(model.weight, before)
    assert step.optimizer_steps == 1 and step.ema.updates == 1


def test_nan_loss_skips_step_weights_unchanged_and_counts():
    model, opt, step = _setup(nan_calls={1})
    x = torch.rand(3, 4)
    step(x, torch.zeros(0, 6), step=False)  # accumulates a finite gradient
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.warns(RuntimeWarning, match="non-finite loss at e0 i1"):
        out = step(x, torch.zeros(0, 6), step=True, where="e0 i1")
    assert out is None
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())  # accumulation window dropped
    assert step.guard.total == 1 and step.guard.consecutive == 1 and step.optimizer_steps == 0
    step(x, torch.zeros(0, 6), step=True)
    assert step.guard.consecutive == 0 and step.guard.total == 1 and step.optimizer_steps == 1


def test_too_many_nonfinite_in_a_row_raises_clear_error():
    model, _, step = _setup(nan_calls=set(range(100)), max_nonfinite=2)
    before = model.weight.clone()
    with pytest.warns(RuntimeWarning):
        step(torch.rand(2, 4), torch.zeros(0, 6), step=True)
        step(torch.rand(2, 4), torch.zeros(0, 6), step=True)
    with pytest.raises(RuntimeError, match=r"3 consecutive steps.*train.max_nonfinite=2"):
        step(torch.rand(2, 4), torch.zeros(0, 6), step=True)
    assert torch.equal(model.weight, before)


def test_nonfinite_gradient_is_skipped():
    model, _, step = _setup()
    step(torch.rand(2, 4), torch.zeros(0, 6), step=False)
    model.weight.grad[0, 0] = float("inf")
    before = model.weight.clone()
    with pytest.warns(RuntimeWarning, match="gradient norm"):
        assert step.optimizer_step("x") is False
    assert torch.equal(model.weight, before) and step.guard.total == 1


def test_grad_clip_limits_the_update():
    torch.manual_seed(0)
    model = nn.Linear(4, 2, bias=False)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    step = TrainStep(model, _Criterion(), opt, loss_scale=1e4, grad_clip=0.5)
    before = model.weight.clone()
    step(torch.rand(8, 4) * 10, torch.zeros(0, 6), step=True)
    assert (model.weight - before).norm().item() == pytest.approx(0.5, rel=1e-4)


def test_accumulation_sums_gradients():
    torch.manual_seed(0)
    x1, x2 = torch.rand(2, 4), torch.rand(2, 4)
    results = []
    for chunks in ([x1, x2], [torch.cat([x1, x2])]):
        torch.manual_seed(1)
        model = nn.Linear(4, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        step = TrainStep(model, _Criterion(), opt, loss_scale=2 if len(chunks) == 2 else 4, grad_clip=0)
        for i, x in enumerate(chunks):
            step(x, torch.zeros(0, 6), step=i == len(chunks) - 1)
        results.append(model.weight.detach().clone())
    torch.testing.assert_close(results[0], results[1])


def test_guard_resets():
    g = NonFiniteGuard(1)
    with pytest.warns(RuntimeWarning):
        g.bad("loss", "a")
    g.ok()
    with pytest.warns(RuntimeWarning):
        g.bad("loss", "b")
    assert g.total == 2 and g.consecutive == 1


def test_bf16_autocast_step_on_cpu_keeps_fp32_weights_and_learns():
    """CPU bf16 autocast (train.amp on a CPU with bf16 hardware): fp32 weights, finite loss that goes down."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.SiLU(), nn.Conv2d(8, 2, 1))
    seen = []

    def criterion(raw, targets):
        seen.append(raw.dtype)
        return (raw.float() - 1.0).square().mean(), {"box": 0.0}

    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    step = TrainStep(model, criterion, opt, autocast_dtype=torch.bfloat16)
    x = torch.rand(4, 3, 8, 8)
    losses = [step(x, torch.zeros(0, 6), step=True)["total"] for _ in range(20)]
    assert seen[0] is torch.bfloat16  # the convolutions ran in bf16
    assert all(p.dtype is torch.float32 for p in model.parameters())
    assert losses[-1] < 0.5 * losses[0] and step.optimizer_steps == 20
