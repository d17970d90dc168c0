"""Backbones: ``build_backbone(name, pretrained=None, out_indices=(2, 3, 4), **kwargs)`` and ``list_backbones()``."""

from . import cspresnext, torchvision_nets  # noqa: E402,F401 - their builders register the built-in backbones
from .common import Backbone, FeatureInfo
from .pretrained import PretrainedWeightsError, load_state_dict_file
from .registry import BACKBONES, build_backbone, list_backbones, register_backbone

__all__ = [
    "BACKBONES",
    "Backbone",
    "FeatureInfo",
    "PretrainedWeightsError",
    "build_backbone",
    "list_backbones",
    "load_state_dict_file",
    "register_backbone",
]
