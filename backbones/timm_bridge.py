"""``timm:<name>`` backbones through timm's ``features_only=True`` (timm is optional).

Out indices keep this package's meaning (index i = stride 2**(i+1)); they are mapped onto timm's own feature
indices by stride, so e.g. ``timm:convnext_tiny`` (first map at stride 4) gives index 1 = stride 4.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from .common import Backbone, FeatureInfo, check_out_indices, level_stride
from .pretrained import PretrainedWeightsError

if TYPE_CHECKING:
    from timm.models import FeatureListNet


def _import_timm():
    try:
        import timm
    except ImportError as e:
        raise ImportError(
            "timm backbones ('timm:<name>') need the optional package timm: pip install 'timm>=1.0.9'"
        ) from e
    return timm


def check_timm_name(name: str) -> None:
    """A ValueError ``no timm model 'X'`` naming the closest of ``timm.list_models()`` unless timm knows ``name``
    (an architecture, optionally with a pretrained tag: ``resnet50.a1_in1k``)."""
    timm = _import_timm()
    if timm.is_model(name):
        return
    close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.5)
    hint = f"; close names: {', '.join(close)}" if close else "; timm.list_models() lists them"
    raise ValueError(f"no timm model {name!r} (model.backbone.name=timm:{name}){hint}")


class TimmFeatures(Backbone):
    """Wraps a timm ``features_only`` model. ``forward(x: [B, 3, H, W])`` -> maps at ``self.strides``."""

    def __init__(self, net: FeatureListNet, out_indices: tuple[int, ...], stride_to_module: dict[int, str]) -> None:
        super().__init__()
        self.net = net
        self.out_indices = out_indices
        fi = net.feature_info
        self.feature_info = [
            FeatureInfo(c, r, m) for c, r, m in zip(fi.channels(), fi.reduction(), fi.module_name(), strict=True)
        ]
        self._stride_to_module = stride_to_module

    def frozen_modules(self, n: int) -> list[nn.Module]:
        """Children of the timm feature net up to (and including) the module giving stride ``2 ** (n + 1)``."""
        names = [name for name, _ in self.net.named_children()]
        target = max((s for s in self._stride_to_module if s <= level_stride(n)), default=None)
        if target is None:
            return []
        end = self._stride_to_module[target].replace(".", "_")
        stop = names.index(end) + 1 if end in names else len(names)
        return [m for _, m in list(self.net.named_children())[:stop]]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(self.net(x))


def build_timm(
    name: str,
    pretrained: bool | str | os.PathLike | None = None,
    out_indices: tuple[int, ...] = (2, 3, 4),
    *,
    width_mult: float = 1.0,
    depth_mult: float = 1.0,
) -> TimmFeatures:
    """Build ``timm.create_model(name, features_only=True)``; ``pretrained`` True uses timm's own download (HF hub
    cache), a path is loaded by timm (``pretrained_cfg_overlay=dict(file=...)``)."""
    timm = _import_timm()
    label = f"timm:{name}"
    check_timm_name(name)
    if width_mult != 1.0 or depth_mult != 1.0:
        raise ValueError(
            f"{label}: width_mult/depth_mult must be 1.0 for timm models (got {width_mult}, {depth_mult}); "
            "set model.backbone.width_mult=1.0 model.backbone.depth_mult=1.0"
        )
    # 1) probe the feature strides (random init, cheap) and map our out indices onto timm's by stride
    probe = timm.create_model(name, features_only=True, pretrained=False)
    reductions = probe.feature_info.reduction()
    modules = [f["module"] for f in probe.feature_info.info]
    stride_to_idx = {r: i for i, r in enumerate(reductions)}  # last feature at each stride wins
    stride_to_module = {r: modules[i] for r, i in stride_to_idx.items()}
    available = [k for k in range(5) if level_stride(k) in stride_to_idx]
    idx = check_out_indices(label, out_indices, available)
    timm_idx = tuple(stride_to_idx[level_stride(k)] for k in idx)
    del probe
    # 2) the real model with exactly those outputs
    kwargs: dict = {"features_only": True, "out_indices": timm_idx}
    if pretrained is True:
        kwargs["pretrained"] = True
    elif pretrained is not None and pretrained is not False:
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise PretrainedWeightsError(f"pretrained weights file not found: {path} (check the path)")
        kwargs.update(pretrained=True, pretrained_cfg_overlay={"file": str(path)})
    try:
        net = timm.create_model(name, **kwargs)
    except Exception as e:
        if not kwargs.get("pretrained"):
            raise
        raise PretrainedWeightsError(
            f"{label}: loading pretrained weights failed ({type(e).__name__}: {e}). Offline? Download the "
            f"weights of {name!r} (Hugging Face hub 'timm/...') and pass pretrained=PATH."
        ) from e
    return TimmFeatures(net, idx, stride_to_module)
