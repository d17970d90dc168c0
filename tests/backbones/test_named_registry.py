"""``Registry``: the one registry class of backbones, necks and head families."""

import pytest

from backbones.named_registry import Registry


def test_register_get_names_and_did_you_mean():
    reg: Registry = Registry("widget", key="model.widget.type")

    @reg.register()
    def round_widget():
        return "round"

    reg.register("square")(lambda: "square")
    assert reg.names() == ["round_widget", "square"] and list(reg) == reg.names() and len(reg) == 2
    assert reg.get("round_widget")() == "round" and "square" in reg and "cube" not in reg
    with pytest.raises(
        ValueError,
        match=r"^model.widget.type: unknown widget 'round_widgt'\. Did you mean "
        r"'round_widget'\? Choose one of \['round_widget', 'square'\]$",
    ):
        reg.get("round_widgt")
    with pytest.raises(ValueError, match=r"^unknown widget 'x'\. Choose one of"):
        Registry("widget").get("x")


def test_a_name_is_registered_once():
    reg: Registry = Registry("widget")

    def first():
        return 1

    reg.register("w")(first)
    reg.register("w")(first)  # the same object again (a re-imported module): fine
    with pytest.raises(ValueError, match=r"widget 'w' is already registered by .*first"):
        reg.register("w")(lambda: 2)
    with pytest.raises(ValueError, match="non-empty str"):
        reg.add("", first)
    reg.remove("w")
    assert reg.names() == []
    with pytest.raises(ValueError, match="unknown widget 'w'"):
        reg.remove("w")


def test_register_backbone_keeps_its_call_form_and_reserves_timm_names():
    from backbones import BACKBONES, register_backbone

    def builder(pretrained=None, out_indices=(2, 3, 4)):
        raise AssertionError("not built here")

    assert register_backbone("call_form", builder) is builder and BACKBONES.get("call_form") is builder
    BACKBONES.remove("call_form")
    with pytest.raises(ValueError, match="reserved for timm models"):
        register_backbone("timm:mine")
