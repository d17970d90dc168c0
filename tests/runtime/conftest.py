"""A tiny detector that has LEARNED something (AP >= 0.3 on its val split), trained once per session, and its
fp32 ONNX and OpenVINO exports. The val split is its 32 training images (a memorized set: the parity tests need
confident, correct boxes, not generalization); 40 epochs at 64 px, ~40 s on 2 cores."""

from pathlib import Path

import pytest
import torch

from detector.cli.export import main as export_main
from detector.config import load_config
from detector.data.synthetic.shapes_setup import shapes_split_paths
from detector.engine.training.trainer import train
from tests.helpers import TINY_DECOUPLED, tiny_config

NO_AUGMENT = {
    "mosaic": 0.0, "close_mosaic": 0, "fliplr": 0.0, "scale": 0.0, "translate": 0.0,
    "hsv_h": 0.0, "hsv_s": 0.0, "hsv_v": 0.0, "photometric": 0.0,
}  # fmt: skip


class Learned:
    """Paths of the session's trained model: ``config`` (YAML), ``weights`` (best.pt), ``onnx``, ``openvino``."""

    def __init__(self, root: Path, config: Path, weights: Path, ap: float):
        self.root, self.config, self.weights, self.ap = root, config, weights, ap
        self.onnx = root / "best.onnx"
        self.openvino = root / "best_openvino"


@pytest.fixture(scope="session")
def learned(tmp_path_factory) -> Learned:
    tmp = tmp_path_factory.mktemp("learned")
    shapes = {"root": str(tmp / "shapes"), "num_train": 32, "num_val": 8, "img_size": 64, "seed": 0}
    train_kw = {"epochs": 40, "batch_size": 8, "nominal_batch_size": 8, "optimizer": "adamw", "lr": 0.005}
    train_kw.update(warmup_epochs=1.0, eval_interval=100, amp=False, ema=False, save_batches=0)
    data = {"shapes": shapes, "img_size": 64, "augment": NO_AUGMENT, "val": shapes_split_paths(tmp / "shapes")["train"]}
    config = tiny_config(
        tmp / "c.yaml", tmp / "run", tmp / "shapes", train=train_kw, data=data, model=TINY_DECOUPLED,
        eval={"batch_size": 32},
    )  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        result = train(load_config(config))
    finally:
        torch.set_num_threads(threads)
    assert result["metrics"]["AP"] >= 0.3, result["metrics"]  # the model has learned something
    out = Learned(tmp, config, tmp / "run" / "weights" / "best.pt", result["metrics"]["AP"])
    assert export_main(["--weights", str(out.weights), "--out", str(out.onnx), "--quiet"]) == 0
    assert (
        export_main(["--weights", str(out.weights), "--format", "openvino", "--out", str(out.openvino), "--quiet"]) == 0
    )
    return out
