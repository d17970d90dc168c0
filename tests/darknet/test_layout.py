"""detector/darknet/layout.py + config_from_darknet: the cfg's layer list is ours; cfgs that differ are refused at
the first differing section (file, line, layer, key)."""

import pytest

from detector.config import load_config
from detector.darknet.cfg import DarknetCfgError, parse_cfg
from detector.darknet.convert import config_from_darknet, darknet_layout, render_darknet_cfg
from detector.darknet.layout import check_layout, num_floats
from detector.model import build_model
from tests.darknet.cfg_text import YOLOV3_ANCHORS, csresnext50_panet_spp
from tests.helpers import ROOT


def layout_of(text: str, source: str = "t.cfg"):
    net, layers = parse_cfg(text, source)
    cfg, masks = config_from_darknet(net, layers, source)
    return layers, darknet_layout(cfg, cfg.model.num_classes, masks), cfg


def edit(text: str, layer: int, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` inside the section of layer number ``layer``."""
    parts = text.split("\n[")  # parts[0] is [net], parts[i + 1] is layer i
    assert old in parts[layer + 1], parts[layer + 1]
    parts[layer + 1] = parts[layer + 1].replace(old, new, 1)
    return "\n[".join(parts)


def line_of(text: str, layer: int, key: str | None = None) -> int:
    section = parse_cfg(text)[1][layer]
    return section.lines[key] if key else section.line


def test_the_80_class_cfg_is_our_model_layer_for_layer():
    text = csresnext50_panet_spp(classes=80)
    layers, expected, cfg = layout_of(text)
    check_layout(layers, expected, "t.cfg")
    assert len(expected) == 138
    assert num_floats(expected) == 57_030_845  # the count for a random-weight file of this cfg
    # and the config it reads is the documented darknet config
    shipped = load_config(ROOT / "configs" / "yolov4_cspx50_darknet.yaml")
    assert cfg.model == shipped.model and cfg.data.img_size == shipped.data.img_size == 608
    model = build_model(cfg)
    convs = [layer for layer in expected if layer.conv is not None]
    bn_channels = sum(layer.conv.stop - layer.conv.start for layer in convs if layer.conv.bn)
    params = sum(p.numel() for p in model.parameters())
    assert params == num_floats(expected) - 2 * bn_channels  # the file also holds BN mean and variance
    assert params == 56_942_525


def test_rendered_cfg_equals_darknet_text_and_reads_anchors_per_mask():
    text = csresnext50_panet_spp(classes=5, anchors=YOLOV3_ANCHORS, scale_x_y=None, size=416, width=0.25)
    layers, expected, cfg = layout_of(text)
    y = cfg.model.head
    assert y.anchors == [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]
    assert y.scale_x_y == [1.0, 1.0, 1.0] and y.wh_decode == "exp"
    assert cfg.model.num_classes == 5 and cfg.data.img_size == 416 and cfg.model.input_norm == "none"
    assert cfg.model.backbone.width_mult == 0.25 and cfg.model.neck.widths == [32, 64, 128]
    ours = parse_cfg(render_darknet_cfg(cfg, expected))
    check_layout(ours[1], expected, "ours")
    assert ours[0].options["width"] == "416"
    for a, b in zip(ours[1], layers, strict=True):
        if a.type == "yolo":
            assert a.get_list("anchors", "", float) == b.get_list("anchors", "", float)
            assert a.get_float("scale_x_y", 1.0, "") == b.get_float("scale_x_y", 1.0, "")


@pytest.mark.parametrize(
    "layer, old, new, key, message",
    [
        (21, "activation=linear", "activation=leaky", "activation",
         r"activation=leaky, expected linear .*\(our backbone.stages.1.conv_exp\)"),
        (6, "groups=8", "groups=4", "groups", r"groups=4, expected 8 .*backbone.stages.0.blocks.0.conv2"),
        (1, "size = 2", "size = 3", "size", r"size=3, expected 2"),
        (18, "layers = -1,-16", "layers = -16,-1", "layers", r"layers=2,17, expected 17,2"),
        (8, "from = -4", "from = -3", "from", r"from=5, expected 4"),
        (94, "stride = 2", "stride = 4", "stride", r"stride=4, expected 2"),
        (3, "layers = -2", "layers = -2\nstride=2", "stride", r"option 'stride' is not supported in \[route\]"),
        (0, "pad=1", "pad=1\nantialiasing=1", "antialiasing", r"option 'antialiasing' is not supported"),
        (115, "classes=3", "classes=3\nnew_coords=1", "new_coords", r"new_coords=1, expected 0"),
    ],
)  # fmt: skip
def test_a_differing_section_is_refused_naming_file_line_and_key(layer, old, new, key, message):
    text = edit(csresnext50_panet_spp(classes=3, width=0.25), layer, old, new)
    layers, expected, _ = layout_of(text, "my.cfg")
    with pytest.raises(DarknetCfgError, match=message) as e:
        check_layout(layers, expected, "my.cfg")
    assert f"my.cfg line {line_of(text, layer, key)}, section [" in str(e.value)
    assert f"(layer {layer})" in str(e.value)


def test_missing_extra_and_foreign_layers_are_refused():
    text = csresnext50_panet_spp(classes=3, width=0.25)
    parts = text.split("\n[")
    dropped = "\n[".join(parts[:6] + parts[10:])  # one bottleneck (3 convs + shortcut) less in stage 1
    layers, expected, _ = layout_of(dropped, "d.cfg")
    line = line_of(dropped, 14)  # the stage's transition route comes one block early
    with pytest.raises(DarknetCfgError, match=rf"d.cfg line {line}, section \[route\] \(layer 14\): expected "
                       r"\[convolutional\] here .*\(our backbone.stages.0.blocks.2.conv2\)"):  # fmt: skip
        check_layout(layers, expected, "d.cfg")
    longer = text + "\n[upsample]\nstride=2\n"
    layers, expected, _ = layout_of(longer, "l.cfg")
    with pytest.raises(DarknetCfgError, match=r"layer 138\): the cfg has 139 layers, .* layout has 138"):
        check_layout(layers, expected, "l.cfg")
    foreign = edit(text, 1, "maxpool]", "dropout]")
    layers, expected, _ = layout_of(foreign, "f.cfg")
    with pytest.raises(DarknetCfgError, match=r"layer 1\): expected \[maxpool\]"):
        check_layout(layers, expected, "f.cfg")


@pytest.mark.parametrize(
    "layer, old, new, message",
    [
        (126, "classes=3", "classes=4", r"line \d+, section \[yolo\] \(layer 126\): classes differs from the first"),
        (115, "mask = 0,1,2", "mask = 0,1,9", r"mask=\[0, 1, 9\] must pick the same number of anchors 0..8"),
        (115, "num=9", "num=8", r"anchors has 18 values, num=8 needs 16 \(w, h\)"),
    ],
)
def test_inconsistent_yolo_sections_are_refused(layer, old, new, message):
    text = edit(csresnext50_panet_spp(classes=3, width=0.25), layer, old, new)
    with pytest.raises(DarknetCfgError, match=message):
        layout_of(text)


def test_export_layout_needs_the_darknet_model_config():
    cfg = load_config(ROOT / "configs" / "yolo_cspx50.yaml")
    with pytest.raises(ValueError, match="model.backbone.name is 'cspresnext50', expected 'cspresnext50_darknet'"):
        darknet_layout(cfg, 80)
    cfg = load_config(ROOT / "configs" / "yolov4_cspx50_darknet.yaml", ["model.head.wh_decode=sigmoid2"])
    with pytest.raises(ValueError, match="model.head.wh_decode is 'sigmoid2', expected 'exp'"):
        darknet_layout(cfg, 80)
