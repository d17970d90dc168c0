"""``model.head`` as a tagged union of the registered head families, and the old layout's migration."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pytest
import yaml
from torch import nn

from detector.config import ConfigError, config_from_dict, config_to_dict, load_config
from detector.config.head_families import DecoupledHeadConfig, DecoupledLossConfig, YoloV4HeadConfig
from detector.model.heads.base import HeadFamily
from detector.model.heads.decoupled.head import DecoupledHead
from detector.model.registry import head_family_names, register_head_family

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ANCHORS = [[10.0, 10.0, 16.0, 16.0], [32.0, 32.0, 44.0, 44.0], [80.0, 80.0, 108.0, 108.0]]


def _old_layout(head_type: str) -> dict:
    """A config dict of the old layout, as checkpoints before the tagged union stored it (every family's
    sections, the unused one at its defaults)."""
    yolov4 = {**dataclasses.asdict(YoloV4HeadConfig()), "anchors": ANCHORS}
    yolov4_loss = {**yolov4.pop("loss"), "box": 0.1}
    decoupled = {**dataclasses.asdict(DecoupledHeadConfig()), "reg_max": 8}
    decoupled_loss = {**decoupled.pop("loss"), "cls": 1.0}
    for section in (yolov4, decoupled):
        del section["type"], section["prior_prob"]
    return {
        "model": {"head": {"type": head_type, "prior_prob": 0.02, "yolov4": yolov4, "decoupled": decoupled}},
        "loss": {"yolov4": yolov4_loss, "decoupled": decoupled_loss},
        "train": {"epochs": 3},
    }


def test_type_selects_the_family_config_with_only_its_keys():
    cfg = load_config(None, ["model.head.type=decoupled", "model.head.reg_max=8", "model.head.loss.topk=5"])
    assert cfg.model.head == DecoupledHeadConfig(reg_max=8, loss=DecoupledLossConfig(topk=5))
    assert list(config_to_dict(cfg)["model"]["head"]) == ["type", "prior_prob", "reg_max", "loss"]
    with pytest.raises(ConfigError, match=r"unknown key 'model.head.anchors'.*valid keys in 'model.head': type"):
        load_config(None, ["model.head.type=decoupled", "model.head.anchors=[[1, 2]]"])
    with pytest.raises(ConfigError, match=r"key 'model.head.type' must be one of \['decoupled', 'yolov4'\], got 'x'"):
        config_from_dict({"model": {"head": {"type": "x"}}})
    with pytest.raises(ConfigError, match=r"'model.head.loss.anchor_t' must be > 1, got 0.5"):
        load_config(None, ["model.head.type=yolov4", "model.head.loss.anchor_t=0.5"])
    with pytest.raises(ConfigError, match=r"'model.head.wh_decode' must be one of \['sigmoid2', 'exp'\]"):
        load_config(None, ["model.head.type=yolov4", "model.head.wh_decode=linear"])


def test_another_type_starts_the_head_section_afresh(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({"model": {"head": {"type": "yolov4", "anchors": ANCHORS, "loss": {"obj": 2}}}}))
    variant = tmp_path / "variant.yaml"
    variant.write_text(yaml.safe_dump({"base": "base.yaml", "model": {"head": {"type": "decoupled", "reg_max": 4}}}))
    assert load_config(variant).model.head == DecoupledHeadConfig(reg_max=4)
    assert load_config(base, ["model.head.type=decoupled"]).model.head == DecoupledHeadConfig()
    same = load_config(base, ["model.head.type=yolov4", "model.head.loss.cls=0.1"]).model.head
    assert isinstance(same, YoloV4HeadConfig) and same.anchors == ANCHORS and (same.loss.obj, same.loss.cls) == (2, 0.1)


@pytest.mark.parametrize("head_type", ["yolov4", "decoupled"])
def test_old_layout_loads_with_one_warning_naming_the_new_keys(head_type):
    with pytest.warns(UserWarning) as record:
        cfg = config_from_dict(_old_layout(head_type), "old.yaml")
    assert len(record) == 1
    message = str(record[0].message)
    old = "model.head.yolov4, model.head.decoupled, loss.yolov4, loss.decoupled"
    assert f"old.yaml: old head config layout ({old})" in message
    assert f"model.head: {{type: {head_type}, <its fields>, loss: {{...}}}}" in message
    if head_type == "yolov4":
        assert isinstance(cfg.model.head, YoloV4HeadConfig)
        assert (cfg.model.head.anchors, cfg.model.head.loss.box, cfg.model.head.prior_prob) == (ANCHORS, 0.1, 0.02)
    else:
        assert cfg.model.head == DecoupledHeadConfig(prior_prob=0.02, reg_max=8, loss=DecoupledLossConfig(cls=1.0))
    assert cfg.train.epochs == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the resolved config, saved again, is of the new layout
        assert config_from_dict(config_to_dict(cfg)) == cfg


def test_old_layout_overrides_are_migrated_once_and_checked_against_the_type():
    with pytest.warns(UserWarning, match=r"old head config layout \(model.head.yolov4.anchors, loss.yolov4.box\)"):
        cfg = load_config(
            None, ["model.head.type=yolov4", f"model.head.yolov4.anchors={ANCHORS}", "loss.yolov4.box=0.2"]
        )
    assert isinstance(cfg.model.head, YoloV4HeadConfig)
    assert (cfg.model.head.anchors, cfg.model.head.loss.box) == (ANCHORS, 0.2)
    with pytest.raises(ConfigError, match="model.head.type is 'decoupled', not 'yolov4'; set model.head.type=yolov4"):
        load_config(None, [f"model.head.yolov4.anchors={ANCHORS}"])  # the default family is decoupled


def test_every_shipped_config_holds_only_the_family_it_uses():
    for path in CONFIGS.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        head = (data.get("model") or {}).get("head") or {}
        assert "loss" not in data and not set(head) & set(head_family_names()), path.name


def test_registering_checks_the_family_declaration():
    class Broken(HeadFamily):  # config's type default must equal the registered name
        config = DecoupledHeadConfig
        head = DecoupledHead
        raw_outputs = "raw"

    with pytest.raises(ValueError, match="DecoupledHeadConfig.type defaults to 'decoupled'; make it 'other'"):
        register_head_family("other")(Broken)
    with pytest.raises(ValueError, match="head family 'decoupled' is already registered by .*DecoupledFamily"):
        register_head_family()(Broken)  # the name defaults to the config's type: written once, in the config
    Broken.head = nn.Module  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"Broken.head must be its DetectionHead subclass"):
        register_head_family()(Broken)
    assert "other" not in head_family_names()


def test_one_default_head_family_in_code_docs_and_pyproject():
    from detector.config import Config
    from detector.config.plugins import DEFAULT_HEAD_FAMILY

    root = CONFIGS.parent
    assert DEFAULT_HEAD_FAMILY == "decoupled" and Config().model.head == DecoupledHeadConfig()
    assert "the anchor-free decoupled head (the default;" in (root / "README.md").read_text()
    assert "decoupled head by default" in (root / "pyproject.toml").read_text()
    assert (
        "The default family (a config without `model.head.type`) is `decoupled`"
        in (root / "docs" / "ARCHITECTURE.md").read_text()
    )
    assert yaml.safe_load((CONFIGS / "defaults.yaml").read_text())["model"]["head"]["type"] == "decoupled"
