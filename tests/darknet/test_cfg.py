"""detector/darknet/cfg.py: sections, line numbers, values, errors that name the line."""

import pytest

from detector.darknet.cfg import DarknetCfgError, parse_cfg, render_cfg

TEXT = """# a comment
[net]
width = 416
height=416

[convolutional]
batch_normalize=1
filters=64   # trailing comment
size=3
activation=leaky

; another comment
[route]
layers = -1, -3
"""


def test_sections_options_and_lines():
    net, layers = parse_cfg(TEXT, "m.cfg")
    assert (net.type, net.index, net.line, net.options) == ("net", -1, 2, {"width": "416", "height": "416"})
    conv, route = layers
    assert (conv.type, conv.index, conv.line) == ("convolutional", 0, 6)
    assert conv.options == {"batch_normalize": "1", "filters": "64", "size": "3", "activation": "leaky"}
    assert conv.lines["filters"] == 8 and conv.get_int("filters", 1, "m.cfg") == 64
    assert conv.get_int("stride", 1, "m.cfg") == 1  # default when absent
    assert route.get_list("layers", "m.cfg") == [-1, -3] and route.line == 13
    assert route.where("m.cfg", "layers") == "m.cfg line 14, section [route] (layer 1)"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[convolutional]\nsize=1\n", r"cfg line 1: the first section must be \[net\]"),
        ("size=1\n[net]\n", r"cfg line 1: 'size=1' comes before any \[section\]"),
        ("[net]\n[convolutional\n", r"cfg line 2: malformed section header"),
        ("[net]\n[maxpool]\nsize 2\n", r"cfg line 3: expected key=value"),
        ("[net]\n[maxpool]\nsize=2\nsize=3\n", r"cfg line 2, section \[maxpool\] \(layer 0\): key 'size' given twice"),
        ("[net]\nwidth=1\n", r"no layers after \[net\]"),
        ("# empty\n", r"no \[net\] section"),
    ],
)
def test_errors_name_the_line(text, message):
    with pytest.raises(DarknetCfgError, match=message):
        parse_cfg(text, "cfg")


def test_bad_values_name_the_key_line():
    _, layers = parse_cfg("[net]\n[convolutional]\nfilters=6x4\nanchors=1,b\n", "m.cfg")
    with pytest.raises(DarknetCfgError, match=r"m.cfg line 3, .*filters='6x4' is not an integer"):
        layers[0].get_int("filters", 1, "m.cfg")
    with pytest.raises(DarknetCfgError, match=r"m.cfg line 4, .*not a list of numbers"):
        layers[0].get_list("anchors", "m.cfg", float)


def test_render_round_trip():
    text = render_cfg({"width": 64}, [("convolutional", {"filters": 8, "size": 3}), ("yolo", {"mask": [0, 1]})])
    net, layers = parse_cfg(text)
    assert net.options == {"width": "64"}
    assert [(s.type, s.options) for s in layers] == [
        ("convolutional", {"filters": "8", "size": "3"}),
        ("yolo", {"mask": "0,1"}),
    ]
