"""The fp32 ONNX and OpenVINO files give the checkpoint's detections box by box, and the same val AP."""

import cv2
import pytest
import torch

from detector.config import PredictConfig, load_config
from detector.engine.jobs.evaluate_exported import evaluate_backend
from detector.engine.prediction.predictor import Predictor
from detector.runtime import load_backend

pytestmark = pytest.mark.slow  # the session fixture trains a model


def _images(learned, n=8):
    paths = sorted((learned.root / "shapes" / "train" / "images").iterdir())[:n]
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]


@pytest.mark.parametrize("kind", ["onnx", "openvino"])
def test_detections_equal_checkpoint_box_by_box(learned, kind):
    settings = PredictConfig(conf=0.2, img_size=64, letterbox="square")
    ref = Predictor(load_backend(learned.weights), settings, device="cpu")
    exported = load_backend(getattr(learned, kind))
    assert exported.format == kind and exported.info.input_hw == (64, 64)
    got = Predictor(exported, settings)
    total = 0
    for img in _images(learned):
        a, b = ref([img])[0], got([img])[0]
        assert len(a["scores"]) == len(b["scores"]), (a, b)
        torch.testing.assert_close(b["boxes_xyxy"], a["boxes_xyxy"], atol=2e-3, rtol=1e-3)
        torch.testing.assert_close(b["scores"], a["scores"], atol=1e-4, rtol=1e-3)
        assert b["labels"].tolist() == a["labels"].tolist() and b["names"] == a["names"]
        total += len(a["scores"])
    assert total >= 8  # the comparison saw real detections


def test_eval_ap_of_fp32_files_equals_checkpoint(learned):
    cfg = load_config(learned.config, ["eval.letterbox=square"])  # the same square 64-px input for all
    aps = {}
    for kind, path in (("pytorch", learned.weights), ("onnx", learned.onnx), ("openvino", learned.openvino)):
        res, _, _ = evaluate_backend(load_backend(path), cfg, progress=False)
        aps[kind] = (res["AP"], res["AP50"])
    assert aps["pytorch"][0] >= 0.3, aps
    for kind in ("onnx", "openvino"):
        assert round(aps[kind][0], 3) == round(aps["pytorch"][0], 3), aps
        assert round(aps[kind][1], 3) == round(aps["pytorch"][1], 3), aps


def test_eval_and_detect_tools_take_exported_files(learned, tmp_path):
    from detector.cli.detect import main as detect_main
    from detector.cli.eval import main as eval_main

    for path in (learned.onnx, learned.openvino):
        out = tmp_path / f"ev_{path.name}"
        assert eval_main([str(learned.config), "--weights", str(path), "--out", str(out)]) == 0
        assert (out / "metrics.json").is_file() and (out / "predictions.json").is_file()
        src = learned.root / "shapes" / "train" / "images"
        det = tmp_path / f"det_{path.name}"
        assert detect_main(["--weights", str(path), "--source", str(src), "--out", str(det), "--save-json"]) == 0
        assert (det / "detections.json").is_file()


def test_detect_track_on_exported_files_gives_the_checkpoints_ids(learned, tmp_path):
    """``detect --track`` takes an exported file (its track settings: the defaults; it stores no config), and the fp32
    files track like the checkpoint: the same (frame, id) rows in tracks.txt. The frames: the model's own training
    images as an ordered folder (what it detects well; identities carry over where boxes overlap)."""
    from detector.cli.detect import main as detect_main

    frames = learned.root / "shapes" / "train" / "images"
    rows = {}
    for name in ("weights", "onnx", "openvino"):
        out = tmp_path / name
        argv = ["--weights", str(getattr(learned, name)), "--source", str(frames), "--track", "--no-save"]
        assert detect_main([*argv, "--out", str(out), "--quiet", "track.low_thresh=0.05"]) == 0
        lines = (out / "tracks.txt").read_text().splitlines()
        rows[name] = [line.split(",")[:2] for line in lines]
    assert rows["weights"], "the checkpoint tracked nothing on the video"
    assert rows["onnx"] == rows["weights"] and rows["openvino"] == rows["weights"]
