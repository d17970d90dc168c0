"""Import darknet models (``.cfg`` + ``.weights``) of the YOLOv4 paper's CSPResNeXt50-PANet-SPP, and export back.

``convert_darknet(cfg, weights, out, names)`` writes an ordinary detector checkpoint; ``load_darknet`` returns the
model; ``export_darknet(checkpoint, out.weights)`` writes darknet files. See ``tools/convert_darknet.py``.
"""

from detector.darknet.cfg import DarknetCfgError, parse_cfg, read_cfg
from detector.darknet.convert import (
    config_from_darknet,
    convert_darknet,
    darknet_layout,
    export_darknet,
    load_darknet,
    render_darknet_cfg,
)
from detector.darknet.weights import DarknetWeightsError, WeightsHeader, read_weights, write_weights

__all__ = [
    "DarknetCfgError",
    "DarknetWeightsError",
    "WeightsHeader",
    "config_from_darknet",
    "convert_darknet",
    "darknet_layout",
    "export_darknet",
    "load_darknet",
    "parse_cfg",
    "read_cfg",
    "read_weights",
    "render_darknet_cfg",
    "write_weights",
]
