"""The public API is small and pinned: ``detector.__all__`` and ``backbones.__all__`` change only on purpose (a
release note), every name in them resolves, and ``import detector`` stays light (no torch until a model is used)."""

import subprocess
import sys

import backbones
import detector
from tests.helpers import ROOT

DETECTOR_API = ["Detector", "Metrics", "Model", "Result", "Run", "build_model", "load", "load_config", "train"]
BACKBONES_API = [
    "BACKBONES",
    "Backbone",
    "FeatureInfo",
    "PretrainedWeightsError",
    "build_backbone",
    "list_backbones",
    "load_state_dict_file",
    "register_backbone",
]


def test_detector_all_is_pinned_and_resolves() -> None:
    assert sorted(detector.__all__) == DETECTOR_API
    for name in detector.__all__:
        assert getattr(detector, name) is not None, name
    assert detector.load.__module__ == "detector.api.model" and detector.Model.__name__ == "Model"
    assert set(DETECTOR_API) <= set(dir(detector))


def test_backbones_all_is_pinned_and_resolves() -> None:
    assert sorted(backbones.__all__) == BACKBONES_API
    for name in backbones.__all__:
        assert getattr(backbones, name) is not None, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        detector.lod  # noqa: B018
    except AttributeError as e:
        assert "'lod'" in str(e)
    else:
        raise AssertionError("detector.lod resolved")


def test_import_detector_does_not_import_torch() -> None:
    code = "import sys, detector; detector.load_config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
