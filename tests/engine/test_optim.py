"""Optimiser param groups, accumulation and the LR / momentum schedule."""

import math

import pytest
from torch import nn

from detector.engine.training.optim import (
    MIN_WARMUP_ITERS,
    WARMUP_MOMENTUM,
    LRSchedule,
    build_optimizer,
    compute_accumulate,
    param_groups,
    scaled_weight_decay,
    warmup_iterations,
)


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.Conv2d(8, 4, 1), nn.GroupNorm(2, 4), nn.Linear(4, 2)
    )


def test_param_groups_put_norm_weights_and_biases_out_of_decay():
    net = _net()
    groups = param_groups(net)
    ids = {k: {id(p) for p in v} for k, v in groups.items()}
    assert ids["decay"] == {id(net[0].weight), id(net[2].weight), id(net[4].weight)}
    assert ids["no_decay"] == {id(net[1].weight), id(net[3].weight)}
    assert ids["bias"] == {id(net[1].bias), id(net[2].bias), id(net[3].bias), id(net[4].bias)}
    assert sum(len(v) for v in groups.values()) == len(list(net.parameters()))


def test_frozen_params_are_left_out():
    net = _net()
    net[0].weight.requires_grad_(False)
    assert id(net[0].weight) not in {id(p) for v in param_groups(net).values() for p in v}


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_build_optimizer_decay_only_on_decay_group(name):
    opt = build_optimizer(_net(), name, lr=0.02, momentum=0.9, weight_decay=1e-3)
    by_name = {g["name"]: g for g in opt.param_groups}
    assert by_name["decay"]["weight_decay"] == 1e-3
    assert by_name["no_decay"]["weight_decay"] == 0.0 and by_name["bias"]["weight_decay"] == 0.0
    assert all(g["lr"] == 0.02 for g in opt.param_groups)
    if name == "sgd":
        assert opt.defaults["nesterov"] is True


def test_unknown_optimizer_names_the_key():
    with pytest.raises(ValueError, match="train.optimizer"):
        build_optimizer(_net(), "lion")


def test_accumulate_and_weight_decay_scaling():
    assert compute_accumulate(64, 16, 1) == 4
    assert compute_accumulate(64, 16, 2) == 2
    assert compute_accumulate(64, 128, 1) == 1
    assert scaled_weight_decay(5e-4, 64, 16, 1, 4) == pytest.approx(5e-4)
    assert scaled_weight_decay(5e-4, 64, 24, 1, 3) == pytest.approx(5e-4 * 72 / 64)
    assert scaled_weight_decay(5e-4, 64, 128, 1, 1) == pytest.approx(1e-3)


def test_warmup_iterations():
    assert warmup_iterations(3.0, 500, 10_000) == 1500
    assert warmup_iterations(3.0, 10, 10_000) == MIN_WARMUP_ITERS
    assert warmup_iterations(3.0, 10, 50) == 25  # capped at half the run
    assert warmup_iterations(0.0, 10, 1000) == 0


def test_schedule_warmup_and_end_values():
    s = LRSchedule(
        base_lr=0.01, total_iters=1000, warmup_iters=100, final_lr_ratio=0.05, warmup_bias_lr=0.1, momentum=0.937
    )
    assert s.values(0, "decay") == (0.0, WARMUP_MOMENTUM)
    assert s.values(0, "bias") == (pytest.approx(0.1), WARMUP_MOMENTUM)
    lr50, m50 = s.values(50, "bias")
    assert lr50 == pytest.approx(0.1 + 0.5 * (0.01 * s.factor(50) - 0.1))
    assert m50 == pytest.approx(WARMUP_MOMENTUM + 0.5 * (0.937 - WARMUP_MOMENTUM))
    assert s.values(100, "bias") == (pytest.approx(0.01 * s.factor(100)), 0.937)
    assert s.values(999, "decay")[0] == pytest.approx(0.01 * 0.05)
    assert s.values(499.5, "decay")[0] == pytest.approx(0.01 * (0.05 + 0.95 * 0.5))  # cosine midpoint


def test_linear_schedule_and_apply_sets_groups():
    s = LRSchedule(base_lr=0.1, total_iters=11, warmup_iters=0, scheduler="linear", final_lr_ratio=0.0)
    assert [round(s.factor(i), 6) for i in (0, 5, 10, 20)] == [1.0, 0.5, 0.0, 0.0]
    opt = build_optimizer(_net(), "sgd", lr=0.1)
    assert s.apply(opt, 5) == pytest.approx(0.05)
    assert all(g["lr"] == pytest.approx(0.05) and g["momentum"] == 0.937 for g in opt.param_groups)
    opt = build_optimizer(_net(), "adamw", lr=0.1)
    s2 = LRSchedule(base_lr=0.1, total_iters=11, warmup_iters=4)
    s2.apply(opt, 0)
    assert all(math.isclose(g["betas"][0], WARMUP_MOMENTUM) for g in opt.param_groups)


def test_unknown_scheduler():
    with pytest.raises(ValueError, match="train.scheduler"):
        LRSchedule(base_lr=0.1, total_iters=10, warmup_iters=0, scheduler="step")


def test_warmup_bias_lr_defaults_per_optimiser_and_explicit_value_wins():
    from detector.engine.training.optim import warmup_bias_lr

    assert warmup_bias_lr(None, "sgd") == 0.1 and warmup_bias_lr(None, "adamw") == 0.0
    assert warmup_bias_lr(0.05, "adamw") == 0.05 and warmup_bias_lr(0.0, "sgd") == 0.0


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_cpu_optimizers_are_fused_and_step_like_the_reference(name):
    """On the CPU the fused kernel runs; it moves the weights as the per-tensor reference implementation does."""
    import torch

    torch.manual_seed(0)
    net, ref_net = _net(), _net()
    ref_net.load_state_dict(net.state_dict())
    opt = build_optimizer(net, name, lr=0.05, momentum=0.9, weight_decay=1e-2)
    ref = build_optimizer(ref_net, name, lr=0.05, momentum=0.9, weight_decay=1e-2)
    for group in ref.param_groups:
        group["fused"], group["foreach"] = None, False
    assert opt.defaults["fused"] is True
    x = torch.rand(2, 3, 6, 6)
    for _ in range(3):
        for model, o in ((net, opt), (ref_net, ref)):
            o.zero_grad()
            model(x).square().mean().backward()
            o.step()
    for p, q in zip(net.parameters(), ref_net.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
