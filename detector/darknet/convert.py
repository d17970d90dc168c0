"""Darknet ``.cfg`` + ``.weights`` -> our Detector and checkpoint, and back (checkpoint -> ``.cfg`` + ``.weights``).

The cfg supplies what our config leaves open (class count, anchors per level from ``mask``, ``scale_x_y`` per level,
the width of the network, the input size of ``[net]``); :func:`config_from_darknet` turns it into a typed
:class:`Config`, :func:`darknet_layout` lists the darknet layers of that config, and the cfg must equal that list
section for section (:func:`detector.darknet.layout.check_layout`) before any weight is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backbones.cspnet import scale_cfg
from backbones.cspresnext import CONFIGS
from detector.config import BackboneConfig, Config, NeckConfig, config_to_dict
from detector.config.head_families import YoloV4HeadConfig  # darknet's [yolo] layers are the yolov4 family
from detector.darknet.cfg import DarknetCfgError, Section, read_cfg
from detector.darknet.layout import Layer, build_layout, check_layout, render_layout
from detector.darknet.names import category_ids, read_names
from detector.darknet.weights import (
    WeightsHeader,
    check_float_count,
    floats_to_state,
    read_weights,
    state_to_floats,
    write_weights,
)
from detector.job_files import JobFiles
from detector.output_files import OutputFileError, same_file, write_text_atomic

if TYPE_CHECKING:
    from detector.model import Detector

BACKBONE = "cspresnext50_darknet"
DARKNET_BN_EPS = 1e-5  # darknet adds 1e-5 to the running variance
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")  # what --out of a checkpoint is named (first: the one advised)
DARKNET_SUFFIXES = (".weights",)


def config_from_darknet(net: Section, layers: Sequence[Section], source: str) -> tuple[Config, list[list[int]]]:
    """Our config of the cfg's model and the cfg's anchor ``mask`` per level (read from the ``[yolo]`` sections)."""
    yolos = [s for s in layers if s.type == "yolo"]
    if len(yolos) != 3:
        raise DarknetCfgError(f"{source}: {len(yolos)} [yolo] sections, the CSPResNeXt-50 PANet-SPP layout has 3")
    first = yolos[0]
    classes, num = first.get_int("classes", 20, source), first.get_int("num", 1, source)
    anchors = first.get_list("anchors", source, float)
    if len(anchors) != 2 * num:
        raise DarknetCfgError(
            f"{first.where(source, 'anchors')}: anchors has {len(anchors)} values, num={num} needs {2 * num} (w, h)"
        )
    masks, rows = [], []
    for y in yolos:
        for key in ("classes", "num", "anchors"):
            if y.options.get(key) != first.options.get(key):
                raise DarknetCfgError(
                    f"{y.where(source, key)}: {key} differs from the first [yolo] (line {first.line})"
                )
        mask = y.get_list("mask", source)
        if not mask or any(not 0 <= m < num for m in mask) or len(mask) != len(first.get_list("mask", source)):
            raise DarknetCfgError(
                f"{y.where(source, 'mask')}: mask={mask} must pick the same number of anchors 0..{num - 1}"
            )
        masks.append(mask)
        rows.append([v for m in mask for v in anchors[2 * m : 2 * m + 2]])
    stem = layers[0]
    if stem.type != "convolutional":
        raise DarknetCfgError(f"{stem.where(source)}: expected [convolutional] (the 7x7 stem) as the first layer")
    width_mult = stem.get_int("filters", 1, source) / CONFIGS[BACKBONE].stem.out_chs
    # each head's 3x3 conv (two layers before its [yolo]) has twice the neck width of its level
    widths = [layers[y.index - 2].get_int("filters", 2, source) // 2 for y in yolos]
    spp = [s.get_int("size", 1, source) for s in layers if s.type == "maxpool" and s.get_int("stride", 1, source) == 1]
    cfg = Config()
    cfg.model.backbone = BackboneConfig(name=BACKBONE, pretrained=False, width_mult=width_mult)
    cfg.model.neck = NeckConfig(widths=widths, depth=2, spp_kernels=spp, spp_order="input_last", bn_eps=DARKNET_BN_EPS)
    cfg.model.head = YoloV4HeadConfig(
        anchors=rows,
        scale_x_y=[y.get_float("scale_x_y", 1.0, source) for y in yolos],
        wh_decode="exp",
        bn_eps=DARKNET_BN_EPS,
    )
    cfg.model.num_classes = classes
    cfg.model.input_norm = "none"
    width, height = net.get_int("width", 416, source), net.get_int("height", 416, source)
    if width == height and width % 32 == 0:
        cfg.data.img_size = width
    return cfg, masks


def _require(cfg: Config) -> YoloV4HeadConfig:
    """``cfg.model.head``; raise unless ``cfg.model`` is of the darknet CSPResNeXt-50 PANet-SPP layout (naming the
    key that is not)."""
    m = cfg.model
    want = {
        "model.backbone.name": (m.backbone.name, BACKBONE),
        "model.backbone.out_indices": (list(m.backbone.out_indices), [2, 3, 4]),
        "model.backbone.depth_mult": (m.backbone.depth_mult, 1.0),
        "model.neck.type": (m.neck.type, "spp_pan"),
        "model.neck.depth": (m.neck.depth, 2),
        "model.neck.spp_order": (m.neck.spp_order, "input_last"),
        "model.head.type": (m.head.type, YoloV4HeadConfig().type),
        "model.head.wh_decode": (m.head.wh_decode if isinstance(m.head, YoloV4HeadConfig) else None, "exp"),
        "model.input_norm": (m.input_norm, "none"),
    }
    for key, (value, expected) in want.items():
        if value != expected:
            raise ValueError(
                f"not the darknet CSPResNeXt-50 PANet-SPP layout: {key} is {value!r}, expected {expected!r}"
            )
    assert isinstance(m.head, YoloV4HeadConfig)  # model.head.type checked above
    return m.head


def darknet_layout(cfg: Config, num_classes: int, masks: Sequence[Sequence[int]] | None = None) -> list[Layer]:
    """The darknet layers of ``cfg.model`` (which must be of the darknet layout, see ``_require``); ``masks``
    default to consecutive anchors per level."""
    head = _require(cfg)
    m = cfg.model
    per_level = len(head.anchors[0]) // 2
    if masks is None:
        masks = [list(range(i * per_level, (i + 1) * per_level)) for i in range(len(head.anchors))]
    backbone = scale_cfg(CONFIGS[BACKBONE], m.backbone.width_mult, 1.0)
    num_anchors = max(max(mask) for mask in masks) + 1
    return build_layout(backbone, m.neck.widths, m.neck.spp_kernels, masks, num_anchors, num_classes, m.neck.depth)


def load_darknet(
    cfg_path: str | Path, weights_path: str | Path, names_path: str | Path | None = None
) -> tuple[Detector, Config, dict[str, Any]]:
    """Build our detector from a darknet cfg + weights. Returns ``(model in eval mode, config, meta)``; meta holds
    ``class_names``, ``cat_ids`` (COCO's when the names are COCO's 80) and the weights ``header``."""
    from detector.model import build_model

    net, layers = read_cfg(cfg_path)
    cfg, masks = config_from_darknet(net, layers, str(cfg_path))
    num_classes = cfg.model.num_classes
    assert num_classes is not None  # config_from_darknet sets it from the [yolo] sections' classes=
    expected = darknet_layout(cfg, num_classes, masks)
    check_layout(layers, expected, str(cfg_path))
    header, floats = read_weights(weights_path)
    check_float_count(expected, floats, str(weights_path))  # before building anything
    names = read_names(names_path, num_classes) if names_path else [str(i) for i in range(num_classes)]
    model = build_model(cfg, num_classes=num_classes, class_names=names)
    state = floats_to_state(expected, floats, model.state_dict(), str(weights_path))
    model.load_state_dict(state)
    meta = {"class_names": names, "cat_ids": category_ids(names) if names_path else list(range(num_classes))}
    meta["header"] = header
    return model.eval(), cfg, meta


def _check_suffix(out: str | Path, written: str, right: tuple[str, ...], wrong: tuple[str, ...]) -> None:
    """Raise OutputFileError when ``out``'s suffix names the other format (``wrong``) than the one written."""
    suffix = Path(out).suffix.lower()
    if suffix in wrong:
        raise OutputFileError(
            f"--out {out}: {written} would be written under a {suffix} name; name it {right[0]} "
            f"(e.g. {Path(out).with_suffix(right[0])})"
        )


def convert_darknet(
    cfg_path: str | Path,
    weights_path: str | Path,
    out: str | Path,
    names_path: str | Path | None = None,
    *,
    exist_ok: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Write the checkpoint of a darknet model to ``out`` (read by ``load_detector``, tools and ``train.weights=``).
    Returns the path and the checkpoint dict. ``out`` never replaces an input, nor an existing file unless
    ``exist_ok`` (OutputFileError, before anything is read)."""
    from detector.engine.training.checkpoint import atomic_save, model_checkpoint

    files = JobFiles(exist_ok=exist_ok)
    files.read("--cfg", cfg_path, "file")
    files.read("--weights", weights_path, "file")
    files.read("--names", names_path, "file")
    files.write_file("--out", out)
    files.check()
    _check_suffix(out, "a detector checkpoint (torch)", CHECKPOINT_SUFFIXES, DARKNET_SUFFIXES)
    model, cfg, meta = load_darknet(cfg_path, weights_path, names_path)
    h: WeightsHeader = meta["header"]
    source = {"cfg": str(cfg_path), "weights": str(weights_path), "version": [h.major, h.minor, h.revision]}
    ckpt = model_checkpoint(model, config_to_dict(cfg), meta["class_names"], meta["cat_ids"], darknet=source)
    ckpt["darknet"]["seen"] = h.seen
    return atomic_save(ckpt, out), ckpt


def export_darknet(
    checkpoint: str | Path, out_weights: str | Path, out_cfg: str | Path | None = None, *, exist_ok: bool = False
) -> tuple[Path, Path]:
    """Write a checkpoint of the darknet layout as darknet ``.weights`` and ``.cfg`` (default: next to the weights).
    The ``[net]`` size is ``data.img_size``; the ``[yolo]`` sections carry the anchors and ``scale_x_y``. Neither
    file replaces the checkpoint or the other one, nor an existing file unless ``exist_ok`` (OutputFileError,
    before anything is read)."""
    from detector.model.checkpoint_io import load_detector

    cfg_what = "--out-cfg" if out_cfg else "the .cfg beside --out"
    out_cfg = Path(out_cfg) if out_cfg else Path(out_weights).with_suffix(".cfg")
    if same_file(out_cfg, out_weights):
        raise OutputFileError(
            f"{cfg_what} {out_cfg} is the same file as --out {out_weights}: name --out *.weights or set --out-cfg"
        )
    files = JobFiles(exist_ok=exist_ok)
    files.read("--checkpoint", checkpoint, "file")
    files.write_file("--out", out_weights)
    files.write_file(cfg_what, out_cfg, option="--out-cfg")
    files.check()
    _check_suffix(out_weights, "darknet weights", DARKNET_SUFFIXES, CHECKPOINT_SUFFIXES)
    model, cfg, meta = load_detector(checkpoint)
    layers = darknet_layout(cfg, meta["num_classes"])
    floats = state_to_floats(layers, model.state_dict())
    out_weights = write_weights(out_weights, floats)
    write_text_atomic(out_cfg, render_darknet_cfg(cfg, layers))
    return out_weights, out_cfg


def render_darknet_cfg(cfg: Config, layers: Sequence[Layer]) -> str:
    """Cfg text of ``layers`` with ``cfg``'s input size, anchors and ``scale_x_y``."""
    y = _require(cfg)
    anchors = [float(v) for row in y.anchors for v in row]
    size = cfg.data.img_size
    net = {"batch": 1, "subdivisions": 1, "width": size, "height": size, "channels": 3}
    extra = [{"anchors": [_num(a) for a in anchors], "scale_x_y": s} for s in y.scale_x_y]
    return render_layout(layers, net, extra)


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v
