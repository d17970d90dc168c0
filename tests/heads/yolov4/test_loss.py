import pytest
import torch

from detector.model.heads.yolov4.loss import YoloLoss
from tests.helpers import loss_cfg, tiny_detector


def _setup(num_classes=2, **kw):
    torch.manual_seed(0)
    model = tiny_detector(num_classes=num_classes)
    return model, YoloLoss(model.head, loss_cfg(**kw))


def test_no_targets_gives_pure_background_loss():
    model, crit = _setup()
    raw = model(torch.rand(2, 3, 64, 64))
    loss, parts = crit(raw, torch.zeros(0, 6))
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert parts["box"] == 0 and parts["cls"] == 0 and parts["obj"] > 0
    assert loss.item() == pytest.approx(sum(parts.values()), rel=1e-5)
    loss.backward()
    assert model.head.preds[0].bias.grad.abs().sum() > 0


def test_many_tiny_and_huge_boxes_are_finite():
    model, crit = _setup()
    g = torch.Generator().manual_seed(1)
    n = 200
    xy = torch.rand(n, 2, generator=g) * 96
    wh = torch.rand(n, 2, generator=g) * 60 + 1
    wh[:20] = 0.3  # sub-pixel boxes
    wh[20:30] = 2000.0  # far larger than the image
    targets = torch.cat(
        [
            torch.randint(0, 2, (n, 1), generator=g).float(),
            torch.randint(0, 2, (n, 1), generator=g).float(),
            xy,
            xy + wh,
        ],
        1,
    )
    raw = model(torch.rand(2, 3, 96, 96))
    loss, parts = crit(raw, targets)
    assert torch.isfinite(loss) and all(v > 0 for v in parts.values())
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_loss_does_not_depend_on_batch_size():
    model, crit = _setup()
    model.eval()  # fixed BatchNorm statistics so both batches see identical maps
    img = torch.rand(1, 3, 64, 64)
    t1 = torch.tensor([[0, 1, 8.0, 8.0, 40.0, 30.0], [0, 0, 30.0, 20.0, 60.0, 60.0]])
    t3 = torch.cat([t1, t1, t1]).clone()
    t3[2:4, 0], t3[4:, 0] = 1, 2
    loss1, _ = crit(model(img), t1)
    loss3, _ = crit(model(img.repeat(3, 1, 1, 1)), t3)
    assert loss3.item() == pytest.approx(loss1.item(), rel=1e-5)


def test_gains_and_label_smoothing():
    model, crit = _setup()
    raw = model(torch.rand(1, 3, 64, 64))
    t = torch.tensor([[0, 1, 8.0, 8.0, 40.0, 30.0]])
    _, parts = crit(raw, t)
    _, parts2 = YoloLoss(model.head, loss_cfg(box=0.1, cls=1.0))(raw, t)
    assert parts2["box"] == pytest.approx(2 * parts["box"], rel=1e-5)
    assert parts2["cls"] == pytest.approx(2 * parts["cls"], rel=1e-5)
    _, parts_ls = YoloLoss(model.head, loss_cfg(label_smoothing=0.2))(raw, t)
    assert parts_ls["cls"] != pytest.approx(parts["cls"], rel=1e-3)


def test_better_prediction_has_lower_box_loss():
    model, crit = _setup(num_classes=1)
    raw = [torch.zeros(1, 3, 64 // s, 64 // s, 6) for s in (8, 16, 32)]
    t = torch.tensor([[0, 0, 11.0, 35.0, 31.0, 51.0]])  # 20 x 16 = anchor 1 of level 0, centre (21, 43)
    _, base = crit(raw, t)
    good = [r.clone() for r in raw]
    good[0][0, 1, 5, 2, 0] = torch.logit(torch.tensor((0.625 + 0.1) / 1.2))  # x offset 0.625 with scale 1.2
    good[0][0, 1, 5, 2, 1] = torch.logit(torch.tensor((0.375 + 0.1) / 1.2))
    _, better = crit(good, t)
    assert better["box"] < base["box"]


def test_errors_name_the_problem():
    model, crit = _setup()
    raw = model(torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match="label 5"):
        crit(raw, torch.tensor([[0, 5, 1.0, 1.0, 20.0, 20.0]]))
    with pytest.raises(ValueError, match="model.head.loss.balance"):
        YoloLoss(model.head, loss_cfg(balance=[1.0, 1.0]))
