"""Trainer construction steps: an injected criterion, a subclass overriding one step, the run's own config copy."""

import pytest
import torch

from detector.config import load_config
from detector.engine.training.trainer import Trainer
from tests.helpers import tiny_config


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shapes")


class SquareLoss:
    """A stand-in loss (mean square of the raw maps) that records the batches it sees."""

    def __init__(self):
        self.targets = []

    def __call__(self, raw, targets):
        self.targets.append(targets)
        return sum(r.float().square().mean() for r in raw), {"box": 0.0, "obj": 0.0, "cls": 0.0}


def test_injected_criterion_is_the_one_the_training_step_calls(tmp_path, shapes_root):
    cfg = load_config(tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root, train={"save_batches": 0}))
    criterion = SquareLoss()
    trainer = Trainer(cfg, criterion=criterion)
    try:
        assert trainer.criterion is criterion and trainer.step.criterion is criterion
        losses, _ = trainer.train_one_epoch(0)
        assert len(criterion.targets) == trainer.iters_per_epoch == 2 and losses["box"] == 0.0
        assert all(t.shape[1] == 6 for t in criterion.targets)  # (batch_index, label, x1, y1, x2, y2)
    finally:
        trainer.close()


class SGDTrainer(Trainer):
    """Overrides one step: plain SGD without momentum or weight decay."""

    def build_optimizer(self, model):
        return torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.0)


def test_a_subclass_overrides_one_construction_step(tmp_path, shapes_root):
    cfg = load_config(tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes_root))
    trainer = SGDTrainer(cfg)
    try:
        assert type(trainer.optimizer) is torch.optim.SGD and len(trainer.optimizer.param_groups) == 1
        assert trainer.step.optimizer is trainer.optimizer
        assert type(trainer.criterion).__name__ == "YoloLoss"  # the other steps keep their defaults
        assert trainer.cfg is not cfg and trainer.cfg == cfg  # the run works on its own copy of the config
    finally:
        trainer.close()
