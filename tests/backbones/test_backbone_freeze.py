"""frozen_stages and norm_eval behaviour."""

import pytest
import torch

from backbones import build_backbone


def _narrow(**kw):
    torch.manual_seed(0)
    return build_backbone("cspresnext50", width_mult=0.25, depth_mult=0.34, **kw)


def _bn_stats(module):
    return {k: v.clone() for k, v in module.state_dict().items() if "running" in k}


def test_frozen_stages_stay_unchanged_after_step():
    model = _narrow(frozen_stages=2)  # stem + stages 1..2 = stem.*, stages.0.*, stages.1.*
    frozen_prefixes = ("stem.", "stages.0.", "stages.1.")
    for name, p in model.named_parameters():
        assert p.requires_grad == (not name.startswith(frozen_prefixes)), name
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1, momentum=0.9)
    model.train()
    for _ in range(2):
        loss = sum(f.square().mean() for f in model(torch.rand(2, 3, 64, 64)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = model.state_dict()
    changed = {k: not torch.equal(v, after[k]) for k, v in before.items() if not k.endswith("num_batches_tracked")}
    frozen = [k for k in changed if k.startswith(frozen_prefixes)]
    assert frozen and not any(changed[k] for k in frozen)  # frozen: weights and BN running stats unchanged
    trainable = [k for k in changed if not k.startswith(frozen_prefixes)]
    # the rest trains (a few zero-init residual branches may not have moved yet after two steps)
    assert sum(changed[k] for k in trainable) > 0.9 * len(trainable)


def test_norm_eval_keeps_running_stats():
    model = _narrow(norm_eval=True).train()
    assert all(not m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert all(p.requires_grad for p in model.parameters())
    stats = _bn_stats(model)
    model(torch.rand(2, 3, 64, 64))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in stats.items())
    control = _narrow().train()
    control_stats = _bn_stats(control)
    control(torch.rand(2, 3, 64, 64))
    assert any(not torch.equal(v, control.state_dict()[k]) for k, v in control_stats.items())


def test_frozen_stages_torchvision_and_cspdarknet():
    tv = build_backbone("resnet50", frozen_stages=1)
    grads = {n.split(".")[0]: p.requires_grad for n, p in tv.named_parameters()}
    assert grads == {"conv1": False, "bn1": False, "layer1": False, "layer2": True, "layer3": True, "layer4": True}
    dk = build_backbone("cspdarknet53", width_mult=0.25, depth_mult=0.34, frozen_stages=1)  # strides 1..4 frozen
    frozen = {n.split(".")[0] + "." + n.split(".")[1] for n, p in dk.named_parameters() if not p.requires_grad}
    assert frozen == {"stem.conv1", "stages.0", "stages.1"}


def test_frozen_stages_timm():
    pytest.importorskip("timm")
    model = build_backbone("timm:resnet18", frozen_stages=1)
    frozen = {n.split(".")[1] for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"conv1", "bn1", "layer1"}
    model.train()
    assert not model.net.bn1.training and model.net.layer2[0].bn1.training


def test_invalid_frozen_stages():
    with pytest.raises(ValueError, match="frozen_stages=7"):
        _narrow(frozen_stages=7)
