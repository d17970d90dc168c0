"""CUDA-graph inference (detector/engine/prediction/cuda_graph.py): the same detections as the eager model, one
recording per input shape; on the CPU a clear error (GraphedDecode) or a warning and the eager path (Predictor)."""

import numpy as np
import pytest
import torch

from detector.config import PredictConfig
from detector.engine.prediction.cuda_graph import GraphedDecode
from detector.engine.prediction.predictor import Predictor
from tests.helpers import tiny_model

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _images(seed: int, shapes: list[tuple[int, int]]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]


def test_graphed_decode_refuses_a_cpu_model():
    with pytest.raises(ValueError, match="CUDA graphs need the model on a CUDA device, it is on cpu"):
        GraphedDecode(tiny_model())


def test_predictor_on_cpu_warns_and_runs_eagerly():
    with pytest.warns(UserWarning, match="CUDA graphs need a CUDA device; running eagerly"):
        p = Predictor(tiny_model(), PredictConfig(img_size=64), device="cpu", cuda_graphs=True)
    assert p.graphed is None
    assert (
        Predictor(tiny_model(), PredictConfig(img_size=64), device="cpu").graphed is None
    )  # default: eager on the CPU
    assert len(p(_images(0, [(48, 64)]))) == 1


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("half", [False, True])
def test_graphs_give_the_eager_detections(half):
    images = _images(1, [(60, 80), (64, 64)])
    eager = Predictor(tiny_model(), PredictConfig(img_size=64, half=half), device="cuda", cuda_graphs=False, fuse=True)
    graphed = Predictor(tiny_model(), PredictConfig(img_size=64, half=half), device="cuda", cuda_graphs=True, fuse=True)
    assert graphed.graphed is not None
    want = eager(images)
    assert sum(len(r["scores"]) for r in want) > 0  # the comparison has boxes to compare
    for _ in range(3):  # replays, not only the recording call
        got = graphed(images)
        for a, b in zip(want, got, strict=True):
            assert torch.equal(a["labels"], b["labels"])
            torch.testing.assert_close(a["boxes_xyxy"], b["boxes_xyxy"], rtol=0, atol=1e-4)
            torch.testing.assert_close(a["scores"], b["scores"], rtol=0, atol=1e-5)


@cuda
@pytest.mark.cuda
def test_one_recording_per_shape():
    p = Predictor(tiny_model(), PredictConfig(img_size=64, letterbox="rect"), device="cuda", cuda_graphs=True)
    for _ in range(3):
        p(_images(2, [(64, 64)]))
    assert p.graphed is not None and p.graphed.graphs_recorded == 1
    p(_images(3, [(32, 64)]))  # rect letterbox: a 32 x 64 input, a second shape
    p(_images(4, [(64, 64)]))
    assert p.graphed.graphs_recorded == 2
