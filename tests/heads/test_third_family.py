"""A head family defined in this file alone plugs in through the registry: config, training, resume, evaluation and
ONNX export (raw and decoded) work without touching any other file (docs/ARCHITECTURE.md, "add a head family").

The family, ``centre``: one 1x1 conv per level predicts, per cell, the box centre offset in the cell (sigmoid), the
box size in strides (exp) and the class logits; a ground truth is assigned to the cell holding its centre on the
level whose stride is closest to ``max(w, h) / size_ratio``. Loss: L1 on (cx, cy, w, h) in strides at the assigned
cells + BCE of the classes over all cells.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import onnx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from detector.config import ConfigError, HeadConfig, config_to_dict, load_config
from detector.config.ranges import AT_LEAST_0, AT_LEAST_1, POSITIVE
from detector.config.schema import option
from detector.engine.evaluation.evaluator import STAT_KEYS
from detector.engine.jobs.evaluate import EvalOptions, run_evaluation
from detector.engine.training.trainer import train
from detector.model import registry
from detector.model.checkpoint_io import load_checkpoint, load_detector
from detector.model.heads.base import DetectionHead, HeadFamily, as_family_config, as_family_head
from detector.runtime.torch_export import check_onnx, export_onnx
from tests.helpers import TINY_MODEL, tiny_config

MAX_LOG_WH = 8.0  # clamp of the size logit before exp (boxes of at most e^8 strides)


@dataclass
class CentreLossConfig:
    box: float = option(1.0, doc="L1 gain of (cx, cy, w, h) in strides", range=AT_LEAST_0)
    cls: float = option(1.0, doc="class BCE gain", range=AT_LEAST_0)


@dataclass
class CentreHeadConfig(HeadConfig):
    type: str = option("centre", doc="head family: centre (one cell per object, test family)")
    size_ratio: float = option(4.0, doc="a level takes boxes of about size_ratio strides", range=POSITIVE)
    hidden: int = option(16, doc="channels of the 3x3 conv before the prediction conv", range=AT_LEAST_1)
    loss: CentreLossConfig = option(doc="the centre loss", factory=CentreLossConfig)


class CentreHead(DetectionHead):
    """Per level ``3x3 conv (hidden) -> SiLU -> 1x1 conv (4 + C)``; raw ``list[[B, 4 + C, H_l, W_l]]``."""

    config_buffers = ()

    def __init__(self, in_channels: Sequence[int], strides: Sequence[int], num_classes: int, hidden: int):
        super().__init__()
        self.num_classes, self.strides, self.decode_in_forward = num_classes, [int(s) for s in strides], False
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, hidden, 3, padding=1), nn.SiLU(), nn.Conv2d(hidden, 4 + num_classes, 1))
            for c in in_channels
        )
        for conv in self.convs:
            nn.init.constant_(conv[-1].bias[4:], math.log(0.01 / 0.99))

    def forward_raw(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [conv(x) for conv, x in zip(self.convs, feats, strict=True)]

    def boxes_in_strides(self, r: torch.Tensor) -> torch.Tensor:
        """One level's raw ``[B, 4 + C, H, W]`` -> ``[B, H, W, 4]`` (cx, cy, w, h) in strides of that level."""
        h, w = r.shape[2:]
        ys, xs = torch.meshgrid(
            torch.arange(h, device=r.device, dtype=torch.float32),
            torch.arange(w, device=r.device, dtype=torch.float32),
            indexing="ij",
        )
        t = r[:, :4].float().permute(0, 2, 3, 1)
        xy = t[..., :2].sigmoid() + torch.stack((xs, ys), -1)
        return torch.cat((xy, t[..., 2:].clamp(max=MAX_LOG_WH).exp()), -1)

    def decode(self, raw: Sequence[torch.Tensor]) -> torch.Tensor:
        out = []
        for r, s in zip(raw, self.strides, strict=True):
            boxes = self.boxes_in_strides(r) * s
            scores = r[:, 4:].float().sigmoid().permute(0, 2, 3, 1)
            out.append(torch.cat((boxes, scores), -1).flatten(1, 2))
        return torch.cat(out, 1)


class CentreLoss(nn.Module):
    def __init__(self, head: CentreHead, cfg: CentreHeadConfig):
        super().__init__()
        self.head, self.size_ratio, self.gains = head, cfg.size_ratio, (cfg.loss.box, cfg.loss.cls)

    def forward(self, raw: Sequence[torch.Tensor], targets: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """``targets [M, 6]`` (batch index, label, x1, y1, x2, y2 pixels) -> (loss of an average image, parts)."""
        batch = raw[0].shape[0]
        wh = targets[:, 4:6] - targets[:, 2:4]
        centre = (targets[:, 2:4] + targets[:, 4:6]) / 2
        strides = torch.tensor(self.head.strides, dtype=torch.float32, device=targets.device)
        level = (wh.amax(1, keepdim=True) / self.size_ratio / strides).log().abs().argmin(1)
        l_box, l_cls = raw[0].new_zeros(()).float(), raw[0].new_zeros(()).float()
        for i, (r, s) in enumerate(zip(raw, self.head.strides, strict=True)):
            cls_target = torch.zeros_like(r[:, 4:], dtype=torch.float32)
            mine = targets[level == i]
            if len(mine):
                b, c = mine[:, 0].long(), mine[:, 1].long()
                cell = (((mine[:, 2:4] + mine[:, 4:6]) / 2) / s).long()
                gx, gy = cell[:, 0].clamp(0, r.shape[3] - 1), cell[:, 1].clamp(0, r.shape[2] - 1)
                cls_target[b, c, gy, gx] = 1.0
                pred = self.head.boxes_in_strides(r)[b, gy, gx]
                want = torch.cat((centre[level == i], wh[level == i]), 1) / s
                l_box = l_box + F.l1_loss(pred, want, reduction="sum") / max(len(targets), 1)
            l_cls = l_cls + F.binary_cross_entropy_with_logits(r[:, 4:].float(), cls_target, reduction="sum") / batch
        box, cls = self.gains[0] * l_box, self.gains[1] * l_cls
        return box + cls, {"box": float(box.detach()), "cls": float(cls.detach())}


class CentreFamily(HeadFamily):
    config = CentreHeadConfig
    head = CentreHead
    raw_outputs = "raw [B, 4+C, H, W] logits per level (centre offset, log size in strides, classes)"

    def build_head(
        self, cfg: HeadConfig, channels: Sequence[int], strides: Sequence[int], num_classes: int
    ) -> CentreHead:
        return CentreHead(channels, strides, num_classes, as_family_config(cfg, CentreHeadConfig).hidden)

    def build_loss(self, cfg: HeadConfig, head: DetectionHead) -> CentreLoss:
        return CentreLoss(as_family_head(head, CentreHead), as_family_config(cfg, CentreHeadConfig))


@pytest.fixture(scope="module", autouse=True)
def centre_family():
    """``@register_head_family()`` on :class:`CentreFamily` for this module's tests only."""
    registered = registry.register_head_family()(CentreFamily)
    assert (CentreFamily.name, CentreHead.family) == ("centre", "centre")  # the name, written once, in the config
    yield registered
    registry.unregister_head_family("centre")  # other test modules see the built-in families only


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shapes")


CENTRE_MODEL = {**TINY_MODEL, "head": {"type": "centre", "hidden": 8, "loss": {"cls": 2.0}}}


def test_the_family_is_a_config_choice_with_its_own_keys(tmp_path):
    assert "centre" in registry.head_family_names()
    cfg = load_config(None, ["model.head.type=centre", "model.head.size_ratio=3", "model.head.loss.box=0.5"])
    assert isinstance(cfg.model.head, CentreHeadConfig)
    assert (cfg.model.head.size_ratio, cfg.model.head.loss.box, cfg.model.head.loss.cls) == (3.0, 0.5, 1.0)
    with pytest.raises(ConfigError, match=r"'model.head.hidden' must be >= 1, got 0"):
        load_config(None, ["model.head.type=centre", "model.head.hidden=0"])
    with pytest.raises(ConfigError, match=r"unknown key 'model.head.anchors'"):  # only the family in use
        load_config(None, ["model.head.type=centre", "model.head.anchors=[[1, 2]]"])


@pytest.mark.slow  # trains the tiny detector 2 epochs, evaluates, exports twice (~20 s on 2 cores)
def test_train_resume_evaluate_and_export_a_family_defined_here(tmp_path, shapes_root, detector_log):
    path = tiny_config(tmp_path / "c.yaml", tmp_path / "run", shapes_root, model=CENTRE_MODEL, train={"epochs": 1})
    torch.manual_seed(0)
    first = train(load_config(path))
    ckpt = load_checkpoint(first["last"], require_training_state=True)
    assert ckpt["config"]["model"]["head"] == {
        "type": "centre",
        "prior_prob": None,
        "size_ratio": 4.0,
        "hidden": 8,
        "loss": {"box": 1.0, "cls": 2.0},
    }
    assert set(ckpt["model"]) >= {"head.convs.0.0.weight", "head.convs.2.2.bias"}

    resumed = train(load_config(path, ["train.epochs=2"]), resume=first["last"])
    assert resumed["epochs"] == 2 and "resuming" in detector_log.text
    last = load_checkpoint(resumed["last"], require_training_state=True)
    assert last["epoch"] == 1 and last["iteration"] == 2 * ckpt["iteration"]
    assert not torch.equal(last["model"]["head.convs.0.2.weight"], ckpt["model"]["head.convs.0.2.weight"])
    assert all(math.isfinite(resumed["metrics"][k]) for k in ("AP", "AP50"))

    result = run_evaluation(
        EvalOptions(config=str(path), weights=str(resumed["last"]), out=str(tmp_path / "eval"), progress=False)
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert result.num_images == 8 and {k: metrics[k] for k in STAT_KEYS} == result.stats

    model, cfg, _ = load_detector(resumed["last"])
    assert isinstance(model.head, CentreHead) and config_to_dict(cfg)["model"]["head"]["hidden"] == 8
    for raw in (False, True):
        out = tmp_path / f"m_raw{raw}.onnx"
        export_onnx(model, out, img_size=64, raw=raw)
        assert check_onnx(out, model, 64, raw=raw, batch_sizes=(1,))["ok"]
        meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
        expected = CentreFamily.raw_outputs if raw else "decoded [B, N, 4+C]"
        assert meta["output_format"].startswith(expected)
        outputs = [o.name for o in onnx.load(str(out)).graph.output]
        assert outputs == (["raw_s8", "raw_s16", "raw_s32"] if raw else ["output"])
