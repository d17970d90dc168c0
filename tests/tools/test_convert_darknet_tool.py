"""tools/convert_darknet.py: darknet -> checkpoint -> darknet, and the checkpoint in detect / eval / export /
fine-tuning like any other."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from detector.config import load_config
from detector.darknet.names import COCO_CATEGORIES
from detector.model.checkpoint_io import load_detector
from tests.darknet.cfg_text import csresnext50_panet_spp, random_weights

ROOT = Path(__file__).resolve().parents[2]
DARKNET_CONFIG = ROOT / "configs" / "yolov4_cspx50_darknet.yaml"
SMALL = {"model.backbone.width_mult": 0.25, "model.neck.widths": [32, 64, 128]}  # the width-0.25 cfg's model


def load_tool(name: str):
    return importlib.import_module(f"detector.cli.{name}")


def coco_names_file(path: Path) -> Path:
    names = [name for _, name in COCO_CATEGORIES]
    names[3], names[4] = "motorbike", "aeroplane"  # darknet's coco.names spellings
    path.write_text("\n".join(names) + "\n")
    return path


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A width-0.25 80-class darknet model with random weights, converted with COCO names: (folder, checkpoint)."""
    root = tmp_path_factory.mktemp("darknet")
    text = csresnext50_panet_spp(classes=80, width=0.25, size=128)
    (root / "m.cfg").write_text(text)
    (root / "m.weights").write_bytes(random_weights(text, seed=3))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = load_tool("convert_darknet").main(
            ["--cfg", str(root / "m.cfg"), "--weights", str(root / "m.weights"), "--out", str(root / "m.pt"),
             "--names", str(coco_names_file(root / "coco.names"))]
        )  # fmt: skip
    assert code == 0
    (root / "stdout.txt").write_text(printed.getvalue())
    return root, root / "m.pt"


@pytest.mark.slow
def test_convert_prints_the_model_and_round_trips(converted, capsys, tmp_path):
    root, ckpt = converted
    model, cfg, meta = load_detector(ckpt)
    assert meta["num_classes"] == 80 and meta["class_names"][3] == "motorbike"
    assert meta["cat_ids"][:5] == [1, 2, 3, 4, 5] and meta["cat_ids"][-1] == 90  # COCO category ids
    assert cfg.model.input_norm == "none" and cfg.data.img_size == 128
    assert load_config(DARKNET_CONFIG, [f"{k}={v}" for k, v in SMALL.items()]).model == cfg.model
    tool = load_tool("convert_darknet")
    assert tool.main(["--checkpoint", str(ckpt), "--out", str(tmp_path / "x.weights")]) == 0
    assert (tmp_path / "x.weights").read_bytes()[20:] == (root / "m.weights").read_bytes()[20:]
    assert (tmp_path / "x.cfg").is_file()
    assert f"wrote {tmp_path / 'x.weights'}" in capsys.readouterr().out
    out = (root / "stdout.txt").read_text()
    assert "cspresnext50_darknet (width x0.25)" in out and "80 (COCO category ids)" in out
    assert "seen 123,456 images" in out and "scale_x_y: [1.2, 1.1, 1.05]" in out


def test_bad_inputs_exit_2_with_the_reason(converted, tmp_path, capsys):
    root, _ = converted
    tool = load_tool("convert_darknet")
    bad = (root / "m.cfg").read_text().replace("[maxpool]\nsize = 2", "[maxpool]\nsize = 3", 1)
    (tmp_path / "bad.cfg").write_text(bad)
    assert tool.main(["--cfg", str(tmp_path / "bad.cfg"), "--weights", str(root / "m.weights"), "--out", "x.pt"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'bad.cfg'} line ") and "section [maxpool] (layer 1): size=3" in err
    (tmp_path / "short.weights").write_bytes((root / "m.weights").read_bytes()[:-8])
    args = ["--cfg", str(root / "m.cfg"), "--weights", str(tmp_path / "short.weights"), "--out", str(tmp_path / "s.pt")]
    assert tool.main(args) == 2
    assert "the file holds 3,950,955 (is short by 2)" in capsys.readouterr().err
    assert not (tmp_path / "s.pt").exists()
    with pytest.raises(SystemExit):
        tool.main(["--cfg", str(root / "m.cfg"), "--out", "x.pt"])


def test_detect_tool_runs_the_converted_model(converted, tmp_path):
    _, ckpt = converted
    cv2.imwrite(str(tmp_path / "a.jpg"), np.random.default_rng(0).integers(0, 255, (90, 120, 3), np.uint8))
    args = ["--weights", str(ckpt), "--source", str(tmp_path / "a.jpg"), "--out", str(tmp_path / "det")]
    assert load_tool("detect").main([*args, "--conf", "0.01", "--save-json", "--device", "cpu"]) == 0
    record = json.loads((tmp_path / "det" / "detections.json").read_text())[0]
    assert record["labels"] and set(record["class_names"]) <= {name for _, name in COCO_CATEGORIES} | {
        "motorbike",
        "aeroplane",
    }


def test_eval_tool_on_coco_categories_takes_the_checkpoint(converted, tmp_path):
    _, ckpt = converted
    images = tmp_path / "val"
    images.mkdir()
    rng = np.random.default_rng(0)
    imgs, anns = [], []
    for i in range(2):
        cv2.imwrite(str(images / f"{i}.jpg"), rng.integers(0, 255, (96, 128, 3), np.uint8))
        imgs.append({"id": i + 1, "file_name": f"{i}.jpg", "width": 128, "height": 96})
        anns.append({"id": i + 1, "image_id": i + 1, "category_id": 90, "bbox": [10, 10, 40, 30], "area": 1200,
                     "iscrowd": 0})  # fmt: skip
    cats = [{"id": c, "name": n, "supercategory": "x"} for c, n in COCO_CATEGORIES]
    (tmp_path / "val.json").write_text(json.dumps({"images": imgs, "annotations": anns, "categories": cats}))
    config = {
        "base": str(DARKNET_CONFIG),
        "data": {"val": {"ann": str(tmp_path / "val.json"), "images": str(images)}, "img_size": 128},
        "eval": {"batch_size": 2},
        "train": {"workers": 0, "device": "cpu"},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    args = [str(tmp_path / "c.yaml"), "--weights", str(ckpt), "--out", str(tmp_path / "eval"), "--no-progress"]
    assert load_tool("eval").main(args) == 0
    preds = json.loads((tmp_path / "eval" / "predictions.json").read_text())
    assert preds and {p["category_id"] for p in preds} <= {c for c, _ in COCO_CATEGORIES}
    assert "AP" in json.loads((tmp_path / "eval" / "metrics.json").read_text())


@pytest.mark.slow
def test_export_tool_onnx_matches_pytorch(converted, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    _, ckpt = converted
    code = load_tool("export").main(["--weights", str(ckpt), "--img-size", "128", "--out", str(tmp_path / "m.onnx")])
    assert code == 0 and "OK" in capsys.readouterr().out


def test_finetune_from_the_converted_checkpoint(converted, tmp_path, detector_log):
    from detector.engine.training.trainer import Trainer

    _, ckpt = converted
    overrides = [f"{k}={v}" for k, v in SMALL.items()] + [
        f"train.weights={ckpt}",
        f"data.shapes={{root: {tmp_path / 'shapes'}, num_train: 8, num_val: 4, img_size: 64, seed: 0}}",
        f"data.train={{ann: {tmp_path / 'shapes' / 'train.json'}, images: {tmp_path / 'shapes' / 'train' / 'images'}}}",
        f"data.val={{ann: {tmp_path / 'shapes' / 'val.json'}, images: {tmp_path / 'shapes' / 'val' / 'images'}}}",
        "data.img_size=64",
        "model.num_classes=null",
        f"train.out_dir={tmp_path / 'run'}",
        "train.device=cpu",
        "train.workers=0",
        "train.batch_size=4",
        "train.save_batches=0",
    ]
    trainer = Trainer(load_config(DARKNET_CONFIG, overrides))
    try:
        own, src = trainer.model.state_dict(), torch.load(ckpt, weights_only=True)["model"]
        skipped = [k for k in src if own[k].shape != src[k].shape]
        assert sorted(skipped) == [f"head.preds.{i}.{p}" for i in range(3) for p in ("bias", "weight")]
        for k in src:
            if k not in skipped:
                torch.testing.assert_close(own[k], src[k])
        out = detector_log.text
        # the 6 prediction convs are re-initialised; head.anchors comes from the config (equal to the cfg's here)
        assert f"loaded {len(src) - 7} tensors" in out
        assert "kept head.anchors from the config" in out and "equals the checkpoint's" in out
    finally:
        trainer.close()
