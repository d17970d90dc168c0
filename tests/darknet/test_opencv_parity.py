"""Our converted model against an implementation nobody here wrote: OpenCV 4's darknet reader.

Random weights in darknet's format, the cfg text of tests/darknet/cfg_text.py; OpenCV reads both files itself. The
raw map before each ``[yolo]`` must equal ours (relative difference <= 1e-4; OpenCV's BatchNorm epsilon is 1e-6,
darknet's and ours 1e-5) and OpenCV's ``[yolo]`` outputs must equal our decoded boxes and scores. OpenCV 5 removed
``readNetFromDarknet``: without it these tests skip, or fail when ``CSPX_REQUIRE_OPENCV_DARKNET=1`` (CI).
"""

import os

import numpy as np
import pytest
import torch

from detector.darknet import load_darknet
from tests.darknet.cfg_text import YOLOV3_ANCHORS, YOLOV4_ANCHORS, csresnext50_panet_spp, random_weights

RTOL_RAW = 1e-4


def opencv_darknet():
    """``cv2.dnn.readNetFromDarknet``, or skip (fail under CSPX_REQUIRE_OPENCV_DARKNET=1) when it is missing."""
    try:
        import cv2

        return cv2.dnn.readNetFromDarknet
    except (ImportError, AttributeError):
        message = (
            "cv2.dnn.readNetFromDarknet is missing (OpenCV 5 removed it); install "
            "'opencv-python-headless>=4.8,<5' to run the darknet parity tests"
        )
        if os.environ.get("CSPX_REQUIRE_OPENCV_DARKNET") == "1":
            pytest.fail(message)
        pytest.skip(message)


def compare_with_opencv(tmp_path, *, classes, width, sizes, anchors, scale_x_y, seed=0):
    read_net = opencv_darknet()
    # thresh=0 / nms_threshold=0: OpenCV's [yolo] would otherwise zero scores < 0.2 and run NMS (darknet ignores both)
    text = csresnext50_panet_spp(classes, width, anchors, scale_x_y, yolo_extra="thresh=0\nnms_threshold=0\n")
    (tmp_path / "m.cfg").write_text(text)
    (tmp_path / "m.weights").write_bytes(random_weights(text, seed))
    model, cfg, _ = load_darknet(tmp_path / "m.cfg", tmp_path / "m.weights")
    net = read_net(str(tmp_path / "m.cfg"), str(tmp_path / "m.weights"))
    yolo = [n for n in net.getLayerNames() if n.startswith("yolo_")]
    before = [f"conv_{int(n.split('_')[1]) - 1}" for n in yolo]  # the 1x1 conv feeding each [yolo]
    assert len(yolo) == 3
    gen = torch.Generator().manual_seed(seed)
    for size in sizes:
        images = torch.rand(1, 3, size, size, generator=gen)
        with torch.no_grad():
            raw = model.forward_raw(images)
            decoded = model.head.decode(raw)[0].numpy()  # [N, 4 + C]: per level (anchor, y, x)
        net.setInput(images.numpy())
        outs = net.forward(before + yolo)
        start = 0
        for level, ours in enumerate(raw):
            b, a, h, w, no = ours.shape
            theirs = outs[level]  # [1, A * (5 + C), H, W]
            mine = ours.permute(0, 1, 4, 2, 3).reshape(theirs.shape).numpy()
            scale = np.abs(theirs).max()
            assert scale > 0.1, "raw maps vanished: the comparison would be meaningless"
            rel = np.abs(mine - theirs).max() / scale
            assert rel <= RTOL_RAW, f"size {size} level {level}: raw maps differ by {rel:.2e} (relative)"
            det = outs[3 + level].reshape(h, w, a, no)  # OpenCV: rows (y, x, anchor), boxes relative to the input
            mine = decoded[start : start + a * h * w].reshape(a, h, w, no - 1).transpose(1, 2, 0, 3)
            start += a * h * w
            np.testing.assert_allclose(mine[..., :4], det[..., :4] * size, rtol=1e-4, atol=2e-3 * size / 608)
            np.testing.assert_allclose(mine[..., 4:], det[..., 5:], rtol=1e-4, atol=1e-5)
            sig_obj = torch.sigmoid(ours[0, ..., 4]).permute(1, 2, 0).numpy()
            np.testing.assert_allclose(sig_obj, det[..., 4], rtol=1e-4, atol=1e-5)
            assert det[..., 2:4].max() > 0.05 and mine[..., 4:].max() > 0.01  # boxes and scores not degenerate
    return model, cfg


@pytest.mark.parametrize(
    "classes, anchors, scale_x_y",
    [(80, YOLOV4_ANCHORS, (1.2, 1.1, 1.05)), (7, YOLOV3_ANCHORS, None)],
    ids=["80-classes-original-optimal", "7-classes-yolov3-anchors"],
)
def test_small_width_matches_opencv_at_two_sizes(tmp_path, classes, anchors, scale_x_y):
    model, cfg = compare_with_opencv(
        tmp_path, classes=classes, width=0.25, sizes=(128, 192), anchors=anchors, scale_x_y=scale_x_y
    )
    assert model.num_classes == classes and cfg.model.head.wh_decode == "exp"


@pytest.mark.slow
@pytest.mark.parametrize("classes", [80, 7])
def test_full_model_matches_opencv_at_two_sizes(tmp_path, classes):
    model, _ = compare_with_opencv(
        tmp_path, classes=classes, width=1.0, sizes=(320, 416), anchors=YOLOV4_ANCHORS, scale_x_y=(1.2, 1.1, 1.05)
    )
    assert sum(p.numel() for p in model.parameters()) > 56_000_000
