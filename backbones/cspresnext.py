"""CSPResNeXt-50 and CSPDarkNet-53 configs and builders (timm-compatible weights: ``cspresnext50.ra_in1k``,
``cspdarknet53.ra_in1k``), and darknet's CSPResNeXt-50 (the backbone of ``csresnext50-panet-spp.cfg``)."""

from __future__ import annotations

from functools import partial

from .cspnet import CspNet, CspNetCfg, StageCfg, StemCfg, scale_cfg
from .pretrained import PretrainedWeightsError, WeightsSpec, load_checked, load_state_dict_file, resolve_pretrained
from .registry import register_backbone

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

# darknet's CSPResNeXt-50 (AlexeyAB/darknet cfg/csresnext50-panet-spp*.cfg, layers 0-80), checked layer by layer
# against the cfg: 7x7/2 stem + 2x2/2 max-pool; LeakyReLU 0.1; each stage's cross and block parts are two 1x1 convs
# of the (down-conv) output -- here one conv_exp split [cross, block] -- with activation in stages 1 and 4 and
# linear in stages 2 and 3; stage 1: cross 128, block input 64 (its first shortcut adds 64 channels into 128);
# concat [blocks, cross] (route -1,-N); BatchNorm eps 1e-5 (darknet adds it to the variance).
_darknet_stage = partial(StageCfg, groups=32, cross_ratio=0.5, block_ratio=0.5, block_first=True)
CSPRESNEXT50_DARKNET = CspNetCfg(
    stem=StemCfg(out_chs=64, kernel_size=7, stride=2, pool=True, pool_kernel=2),
    stages=(_darknet_stage(3, 256, stride=1, expand_ratio=0.75, partial_shortcut=True),)
    + tuple(
        _darknet_stage(d, c, stride=2, cross_linear=linear)
        for d, c, linear in zip((3, 5, 2), (512, 1024, 2048), (True, True, False), strict=True)
    ),
    act="leaky",
    bn_eps=1e-5,
)

WEIGHTS = {
    "cspresnext50": WeightsSpec(f"{TIMM_RELEASES}/cspresnext50_ra_224-648b4713.pth", "timm/cspresnext50.ra_in1k"),
    "cspdarknet53": WeightsSpec(f"{TIMM_RELEASES}/cspdarknet53_ra_256-d05c7c21.pth", "timm/cspdarknet53.ra_in1k"),
}
CONFIGS = {"cspresnext50": CSPRESNEXT50, "cspdarknet53": CSPDARKNET53, "cspresnext50_darknet": CSPRESNEXT50_DARKNET}


def build_cspnet(
    name: str,
    pretrained: bool | None = None,
    out_indices: tuple[int, ...] = (2, 3, 4),
    *,
    width_mult: float = 1.0,
    depth_mult: float = 1.0,
    num_classes: int = 0,
) -> CspNet:
    """Build the CSP network ``CONFIGS[name]``; ``num_classes > 0`` adds the classifier (forward -> logits).

    ``pretrained=True`` loads the official weights (timm state_dict keys, strictly); they need
    ``width_mult == depth_mult == 1``. ``cspresnext50_darknet`` has no ImageNet weights here: its weights come with a
    converted darknet detector. (A weights file is loaded by :func:`backbones.build_backbone`.)
    """
    if name not in CONFIGS:
        raise ValueError(f"unknown CSP backbone {name!r}; choose one of {sorted(CONFIGS)}")
    if pretrained is True and name not in WEIGHTS:
        raise PretrainedWeightsError(
            f"{name}: no ImageNet weights are published for this backbone; use pretrained=false, a file path, or "
            "convert a darknet detector with tools/convert_darknet.py and fine-tune it with train.weights=CKPT"
        )
    if pretrained is True and (width_mult != 1.0 or depth_mult != 1.0):
        raise ValueError(
            f"{name}: pretrained weights exist only for the full model; got width_mult={width_mult}, "
            f"depth_mult={depth_mult}. Use pretrained=None with scaled models, or keep both multipliers at 1.0."
        )
    cfg = scale_cfg(CONFIGS[name], width_mult, depth_mult)
    model = CspNet(cfg, out_indices, num_classes=num_classes, name=name)
    path = resolve_pretrained(pretrained, name, WEIGHTS.get(name))
    if path is not None:
        sd = load_state_dict_file(path)
        load_checked(model, sd, name=name, source=str(path), ignore_prefixes=model.ignored_checkpoint_prefixes())
    return model


for _name in CONFIGS:  # the names are written once, as the keys of CONFIGS beside their configs
    register_backbone(_name)(partial(build_cspnet, _name))
