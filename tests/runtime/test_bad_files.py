"""Files the backends refuse, with the reason named; metadata read back; nothing overwritten; no network."""

import json
import shutil
import socket

import onnx
import pytest
import torch

from detector.cli.export import main as export_main
from detector.runtime import info_from_metadata, load_backend
from detector.runtime.telemetry import telemetry_is_off
from tests.helpers import write_tiny_checkpoint


def _text(capsys) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


pytestmark = pytest.mark.slow  # ONNX / OpenVINO exports and tool runs


@pytest.fixture(scope="module")
def tiny_exports(tmp_path_factory):
    """An untrained tiny checkpoint exported to ONNX and OpenVINO at 64 px (metadata, not accuracy)."""
    tmp = tmp_path_factory.mktemp("tiny")
    write_tiny_checkpoint(tmp / "t.pt", num_classes=3)
    assert export_main(["--weights", str(tmp / "t.pt"), "--img-size", "64", "--quiet"]) == 0
    assert export_main(["--weights", str(tmp / "t.pt"), "--img-size", "64", "--format", "openvino", "--quiet"]) == 0
    return tmp


def test_metadata_read_back(tiny_exports):
    for path in (tiny_exports / "t.onnx", tiny_exports / "t_openvino", tiny_exports / "t_openvino" / "t.xml"):
        info = load_backend(path).info
        assert info.names == ["cls0", "cls1", "cls2"] and info.cat_ids == [1, 2, 3]
        assert info.input_hw == (64, 64) and info.strides == [8, 16, 32] and info.format_version == 1
        assert (info.nms.conf, info.nms.iou, info.nms.max_det) == (0.25, 0.45, 300)
    out = load_backend(tiny_exports / "t.onnx")(torch.rand(2, 3, 64, 64))
    assert out.shape[0] == 2 and out.shape[2] == 4 + 3 and out.dtype == torch.float32
    with pytest.raises(ValueError, match="takes 64x64 inputs"):
        load_backend(tiny_exports / "t.onnx")(torch.rand(1, 3, 96, 96))


def test_onnx_without_our_metadata_names_what_is_missing(tiny_exports, tmp_path):
    proto = onnx.load(str(tiny_exports / "t.onnx"))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "foreign.onnx"))
    with pytest.raises(ValueError, match="class_names, img_size, output_format missing.*tools/export.py"):
        load_backend(tmp_path / "foreign.onnx")
    with pytest.raises(ValueError, match="--raw"):
        info_from_metadata({"class_names": "[]", "img_size": "[64, 64]", "output_format": "raw_s8 ..."}, "x.onnx")


def test_openvino_folder_missing_parts_are_named(tiny_exports, tmp_path):
    folder = tmp_path / "m_openvino"
    shutil.copytree(tiny_exports / "t_openvino", folder)
    (folder / "t.bin").unlink()
    with pytest.raises(FileNotFoundError, match=r"t\.bin \(the weights"):
        load_backend(folder)
    shutil.copy(tiny_exports / "t_openvino" / "t.bin", folder)
    (folder / "metadata.json").unlink()
    with pytest.raises(FileNotFoundError, match="metadata.json"):
        load_backend(folder)


def test_existing_openvino_folder_is_not_replaced(tiny_exports, capsys):
    xml = tiny_exports / "t_openvino" / "t.xml"
    before = xml.read_bytes()
    assert export_main(["--weights", str(tiny_exports / "t.pt"), "--img-size", "64", "--format", "openvino"]) == 2
    assert "already exists: pass --exist-ok" in _text(capsys) and xml.read_bytes() == before


def test_export_and_inference_make_no_network_call(tiny_exports, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network call: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    out = tmp_path / "n_openvino"
    assert export_main(["--weights", str(tiny_exports / "t.pt"), "--img-size", "64", "--format", "openvino",
                        "--out", str(out), "--quiet"]) == 0  # fmt: skip
    assert load_backend(out)(torch.rand(1, 3, 64, 64)).shape[-1] == 7
    assert telemetry_is_off()
    from openvino_telemetry import Telemetry

    assert Telemetry().consent is False  # OpenVINO's telemetry object exists and has no consent
    assert json.loads((out / "metadata.json").read_text())["class_names"] == ["cls0", "cls1", "cls2"]


def test_predictor_settings_come_from_the_file(tiny_exports, caplog):
    from detector.config import PredictConfig
    from detector.engine.prediction.predictor import Predictor
    from detector.runtime.settings import exported_predict_settings

    backend = load_backend(tiny_exports / "t_openvino")
    p = Predictor(backend)
    assert (p.settings.conf, p.settings.iou, p.img_size, p.input_hw) == (0.25, 0.45, 64, (64, 64))
    with caplog.at_level("WARNING", logger="detector"):
        p = Predictor(backend, PredictConfig(img_size=128))  # another size: letterboxed to the file's, said once
    assert p.input_hw == (64, 64) and "fixed input of 64x64" in caplog.text
    img = (torch.rand(50, 90, 3) * 255).to(torch.uint8).numpy()
    x, lb, _ = p.preprocess([img])
    assert tuple(x.shape) == (1, 3, 64, 64) and lb[0, 0] == pytest.approx(64 / 90, abs=0.01)
    s = exported_predict_settings(backend.info, ["predict.conf=0.5"], "t_openvino")
    assert (s.conf, s.img_size) == (0.5, 64)
    with pytest.raises(ValueError, match="only predict.\\* settings apply to it, not train.epochs=3"):
        exported_predict_settings(backend.info, ["train.epochs=3"], "t_openvino")


def test_missing_runtime_names_the_install_command(tiny_exports, tmp_path, monkeypatch, capsys):
    import importlib.util

    import cv2
    import numpy as np

    from detector.cli.detect import main as detect_main
    from detector.runtime import DEPLOY_INSTALL, RuntimeMissingError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    with pytest.raises(RuntimeMissingError, match="pip install -r requirements-deploy.txt"):
        load_backend(tiny_exports / "t_openvino")
    src = tmp_path / "a.jpg"
    cv2.imwrite(str(src), np.full((32, 32, 3), 128, np.uint8))
    assert detect_main(["--weights", str(tiny_exports / "t_openvino"), "--source", str(src)]) == 2
    assert DEPLOY_INSTALL in capsys.readouterr().err
