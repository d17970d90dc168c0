"""CSPResNeXt-50 and CSPDarkNet-53 configs and builders (timm-compatible weights: ``cspresnext50.ra_in1k``,
``cspdarknet53.ra_in1k``)."""

from __future__ import annotations

import os

from .cspnet import CspNet, CspNetCfg, StageCfg, StemCfg, scale_cfg
from .pretrained import WeightsSpec, load_checked, load_state_dict_file, resolve_pretrained

TIMM_RELEASES = "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights"

# timm `cspresnext50`: 7x7/2 stem + 3x3/2 max-pool; stage 1 keeps stride 4 (no down-conv); groups 32.
CSPRESNEXT50 = CspNetCfg(
    stem=StemCfg(out_chs=64, kernel_size=7, stride=2, pool=True),
    stages=tuple(
        StageCfg(depth=d, out_chs=c, stride=s, groups=32, bottle_ratio=1.0, block_ratio=0.5, cross_linear=True)
        for d, c, s in zip((3, 3, 5, 2), (256, 512, 1024, 2048), (1, 2, 2, 2), strict=True)
    ),
)

# timm `cspdarknet53` (YOLOv4's backbone, timm's 1x1 expansion variant): 3x3/1 stem, five stride-2 stages.
CSPDARKNET53 = CspNetCfg(
    stem=StemCfg(out_chs=32, kernel_size=3, stride=1, pool=False),
    stages=(StageCfg(1, 64, expand_ratio=2.0, bottle_ratio=0.5, block_ratio=1.0, down_growth=True, block="dark"),)
    + tuple(
        StageCfg(d, c, expand_ratio=1.0, bottle_ratio=1.0, block_ratio=0.5, down_growth=True, block="dark")
        for d, c in zip((2, 8, 8, 4), (128, 256, 512, 1024), strict=True)
    ),
)

WEIGHTS = {
    "cspresnext50": WeightsSpec(f"{TIMM_RELEASES}/cspresnext50_ra_224-648b4713.pth", "timm/cspresnext50.ra_in1k"),
    "cspdarknet53": WeightsSpec(f"{TIMM_RELEASES}/cspdarknet53_ra_256-d05c7c21.pth", "timm/cspdarknet53.ra_in1k"),
}
CONFIGS = {"cspresnext50": CSPRESNEXT50, "cspdarknet53": CSPDARKNET53}


def build_cspnet(
    name: str,
    pretrained: bool | str | os.PathLike | None = None,
    out_indices: tuple[int, ...] = (2, 3, 4),
    *,
    width_mult: float = 1.0,
    depth_mult: float = 1.0,
    frozen_stages: int = 0,
    norm_eval: bool = False,
    num_classes: int = 0,
) -> CspNet:
    """Build ``cspresnext50`` / ``cspdarknet53``; ``num_classes > 0`` adds the classifier (forward -> logits).

    Pretrained weights (timm state_dict keys) load strictly; they need ``width_mult == depth_mult == 1``.
    """
    if name not in CONFIGS:
        raise ValueError(f"unknown CSP backbone {name!r}; choose one of {sorted(CONFIGS)}")
    use_weights = pretrained is not None and pretrained is not False
    if use_weights and (width_mult != 1.0 or depth_mult != 1.0):
        raise ValueError(
            f"{name}: pretrained weights exist only for the full model; got width_mult={width_mult}, "
            f"depth_mult={depth_mult}. Use pretrained=None with scaled models, or keep both multipliers at 1.0."
        )
    cfg = scale_cfg(CONFIGS[name], width_mult, depth_mult)
    model = CspNet(cfg, out_indices, num_classes=num_classes, norm_eval=norm_eval, name=name)
    path = resolve_pretrained(pretrained, name, WEIGHTS[name])
    if path is not None:
        sd = load_state_dict_file(path)
        load_checked(model, sd, name=name, source=str(path), ignore_prefixes=model.ignored_checkpoint_prefixes())
    model._setup(frozen_stages, norm_eval)  # after loading, so frozen params keep the loaded values
    return model
