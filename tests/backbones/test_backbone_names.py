"""An unknown backbone name is named as such, with close names, before any other complaint (width_mult) and before a
trainer reads (or generates) any data."""

import pytest

from backbones import build_backbone
from backbones.registry import check_backbone_name
from detector.config import load_config
from detector.engine.training.trainer import Trainer
from tests.helpers import tiny_config


def test_an_unknown_registry_name_suggests_the_close_one():
    with pytest.raises(ValueError, match=r"^unknown backbone 'cspresnet99'\. Did you mean 'cspresnext50'\?"):
        check_backbone_name("cspresnet99")
    check_backbone_name("cspresnext50")


@pytest.mark.slow  # imports timm (seconds)
def test_an_unknown_timm_name_is_named_with_close_names_before_width_mult():
    pytest.importorskip("timm")
    with pytest.raises(ValueError) as caught:
        build_backbone("timm:convnext_tiy", pretrained=False, width_mult=0.0625)  # the width error came first
    assert str(caught.value) == (
        "no timm model 'convnext_tiy' (model.backbone.name=timm:convnext_tiy); close names: convnext_tiny, "
        "convnextv2_tiny, convnext_tiny_hnf, convnext_pico, convnext_atto"
    )
    with pytest.raises(ValueError, match=r"^no timm model 'not_a_model' \(model.backbone.name=timm:not_a_model\)"):
        build_backbone("timm:not_a_model", pretrained=False, width_mult=0.0625)
    check_backbone_name("timm:resnet18.a1_in1k")  # a pretrained tag is a known model
    with pytest.raises(ValueError, match=r"^timm:resnet18: width_mult/depth_mult must be 1.0 .*width_mult=1.0"):
        build_backbone("timm:resnet18", pretrained=False, width_mult=0.5)


@pytest.mark.parametrize("name", ["cspresnet99", pytest.param("timm:not_a_model", marks=pytest.mark.slow)])
def test_the_trainer_refuses_an_unknown_backbone_before_generating_data(tmp_path, name):
    if name.startswith("timm:"):
        pytest.importorskip("timm")
    shapes = tmp_path / "shapes"
    path = tiny_config(tmp_path / "c.yaml", tmp_path / "out", shapes)
    with pytest.raises(ValueError, match=rf"{name.split(':')[-1]}"):
        Trainer(load_config(path, [f"model.backbone.name={name}"]))
    assert not shapes.exists() and not (tmp_path / "out").exists()
