"""detector/darknet/weights.py, names.py and convert.py: header versions, sizes, round trips, class names."""

import struct

import numpy as np
import pytest
import torch

from detector.darknet import DarknetWeightsError, WeightsHeader, load_darknet, read_weights, write_weights
from detector.darknet.convert import convert_darknet, export_darknet
from detector.darknet.names import COCO_CATEGORIES, category_ids, read_names
from detector.model.checkpoint_io import load_detector
from tests.darknet.cfg_text import csresnext50_panet_spp, random_weights

SMALL_FLOATS = 3_950_957  # csresnext50_panet_spp(classes=80, width=0.25)
DARKNET_COCO_NAMES = ["person", "bicycle", "car", "motorbike", "aeroplane"]  # + the rest of COCO's, below


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A width-0.25, 80-class cfg with random weights: (cfg path, weights path)."""
    root = tmp_path_factory.mktemp("dk")
    text = csresnext50_panet_spp(classes=80, width=0.25, size=128)
    (root / "m.cfg").write_text(text)
    (root / "m.weights").write_bytes(random_weights(text, seed=1))
    return root / "m.cfg", root / "m.weights"


@pytest.mark.parametrize("major, minor, wide", [(0, 2, True), (0, 1, False), (1, 0, True), (0, 0, False)])
def test_header_seen_is_64_bit_from_version_0_2(tmp_path, major, minor, wide):
    body = np.arange(5, dtype="<f4")
    seen = struct.pack("<q" if wide else "<i", 7_000_000)
    (tmp_path / "w").write_bytes(struct.pack("<3i", major, minor, 3) + seen + body.tobytes())
    header, floats = read_weights(tmp_path / "w")
    assert header == WeightsHeader(major, minor, 3, 7_000_000)
    np.testing.assert_array_equal(floats, body)
    write_weights(tmp_path / "again", floats, header)
    assert (tmp_path / "again").read_bytes() == (tmp_path / "w").read_bytes()


def test_damaged_files_are_refused(tmp_path):
    (tmp_path / "short").write_bytes(b"\0" * 10)
    with pytest.raises(DarknetWeightsError, match="too short for a darknet .weights header"):
        read_weights(tmp_path / "short")
    (tmp_path / "odd").write_bytes(struct.pack("<3iq", 0, 2, 5, 0) + b"\0" * 6)
    with pytest.raises(DarknetWeightsError, match="6 bytes after the header is not a whole number of float32"):
        read_weights(tmp_path / "odd")
    (tmp_path / "transposed").write_bytes(struct.pack("<3iq", 1001, 2, 5, 0) + b"\0" * 8)
    with pytest.raises(DarknetWeightsError, match="transposed-weights files"):
        read_weights(tmp_path / "transposed")
    with pytest.raises(FileNotFoundError, match="darknet weights not found"):
        read_weights(tmp_path / "missing.weights")


@pytest.mark.parametrize("delta", [-1, +3])
def test_wrong_length_states_expected_and_actual_floats(small, tmp_path, delta):
    cfg, weights = small
    data = weights.read_bytes()
    bad = data[: len(data) - 4] if delta < 0 else data + b"\0" * 4 * delta
    (tmp_path / "bad.weights").write_bytes(bad)
    what = "is short by 1" if delta < 0 else "has extra 3"
    expected = f"needs {SMALL_FLOATS:,} floats after the header, the file holds {SMALL_FLOATS + delta:,} \\({what}\\)"
    with pytest.raises(DarknetWeightsError, match=expected):
        load_darknet(cfg, tmp_path / "bad.weights")


def test_nothing_is_half_loaded(small, tmp_path):
    from detector.darknet.cfg import read_cfg
    from detector.darknet.convert import config_from_darknet, darknet_layout
    from detector.darknet.weights import floats_to_state
    from detector.model import build_model

    net, layers = read_cfg(small[0])
    cfg, masks = config_from_darknet(net, layers, "m.cfg")
    model = build_model(cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _, floats = read_weights(small[1])
    with pytest.raises(DarknetWeightsError):
        floats_to_state(darknet_layout(cfg, 80, masks), floats[:-10], model.state_dict(), "w")
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_weights_land_where_the_layout_says(small):
    model, cfg, meta = load_darknet(*small)
    _, floats = read_weights(small[1])
    sd = model.state_dict()
    f = sd["backbone.stem.conv1.bn.bias"].numel()  # 16 filters at width 0.25
    np.testing.assert_array_equal(sd["backbone.stem.conv1.bn.bias"].numpy(), floats[:f])  # beta
    np.testing.assert_array_equal(sd["backbone.stem.conv1.bn.weight"].numpy(), floats[f : 2 * f])  # gamma
    np.testing.assert_array_equal(sd["backbone.stem.conv1.bn.running_mean"].numpy(), floats[2 * f : 3 * f])
    np.testing.assert_array_equal(sd["backbone.stem.conv1.bn.running_var"].numpy(), floats[3 * f : 4 * f])
    kernel = floats[4 * f : 4 * f + f * 3 * 49].reshape(f, 3, 7, 7)
    np.testing.assert_array_equal(sd["backbone.stem.conv1.conv.weight"].numpy(), kernel)
    # the last conv has no BatchNorm: bias then kernel, the file's last floats
    w, b = sd["head.preds.2.weight"], sd["head.preds.2.bias"]
    np.testing.assert_array_equal(w.numpy().ravel(), floats[-w.numel() :])
    np.testing.assert_array_equal(b.numpy(), floats[-w.numel() - b.numel() : -w.numel()])
    assert meta["header"] == WeightsHeader(0, 2, 5, 123456)
    assert meta["class_names"] == [str(i) for i in range(80)] and meta["cat_ids"] == list(range(80))


@pytest.mark.slow
def test_checkpoint_round_trip_is_bit_exact(small, tmp_path):
    cfg, weights = small
    out, ckpt = convert_darknet(cfg, weights, tmp_path / "m.pt")
    assert ckpt["darknet"]["seen"] == 123456 and ckpt["num_classes"] == 80
    back, back_cfg = export_darknet(out, tmp_path / "back.weights")
    assert back_cfg == tmp_path / "back.cfg"
    assert back.read_bytes()[20:] == weights.read_bytes()[20:]  # every float, same order
    again, _ = convert_darknet(back_cfg, back, tmp_path / "again.pt")
    model_a, cfg_a, _ = load_detector(out)
    model_b, cfg_b, _ = load_detector(again)
    assert cfg_a.model == cfg_b.model
    for (ka, va), (kb, vb) in zip(model_a.state_dict().items(), model_b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb), ka


def coco_names(darknet_spelling: bool) -> list[str]:
    names = [name for _, name in COCO_CATEGORIES]
    if darknet_spelling:
        names[:5] = DARKNET_COCO_NAMES
    return names


@pytest.mark.parametrize("darknet_spelling", [True, False])
def test_coco_names_map_to_coco_category_ids(darknet_spelling):
    ids = category_ids(coco_names(darknet_spelling))
    assert len(ids) == 80 and ids[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13] and ids[-1] == 90
    assert len(set(ids)) == 80 and 12 not in ids and 26 not in ids and 83 not in ids
    assert category_ids(coco_names(darknet_spelling)[::-1]) == list(range(80))  # other order: not COCO's
    assert category_ids(["cat", "dog"]) == [0, 1]


def test_names_file_must_match_the_class_count(tmp_path):
    (tmp_path / "n.names").write_text("cat\ndog\n\n")
    assert read_names(tmp_path / "n.names", 2) == ["cat", "dog"]
    with pytest.raises(ValueError, match=r"n.names: 2 names but the cfg has classes=3"):
        read_names(tmp_path / "n.names", 3)
    (tmp_path / "gap.names").write_text("cat\n\ndog\n")
    with pytest.raises(ValueError, match="line 2 is empty"):
        read_names(tmp_path / "gap.names", 3)
