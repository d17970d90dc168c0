"""Backbones: ``build_backbone(name, pretrained=None, out_indices=(2, 3, 4), **kwargs)`` and ``list_backbones()``."""

from .common import Backbone, FeatureInfo
from .pretrained import PretrainedWeightsError, load_state_dict_file
from .registry import build_backbone, list_backbones, register_backbone

__all__ = [
    "Backbone",
    "FeatureInfo",
    "PretrainedWeightsError",
    "build_backbone",
    "list_backbones",
    "load_state_dict_file",
    "register_backbone",
]
