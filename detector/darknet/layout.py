"""The darknet layer list of our CSPResNeXt-50 + SPP-PAN + YOLOv4-head detector, and the check of a cfg against it.

:func:`build_layout` walks the same descriptions the modules are built from (the backbone's ``CspNetCfg``, the
neck widths and SPP kernels, the head's anchors per level, the class count) and lists the darknet sections that
compute exactly that model, in darknet order -- the layer list of AlexeyAB/darknet ``csresnext50-panet-spp.cfg``
at full width. Every ``[convolutional]`` carries the parameters of ours it maps to (:class:`ConvBinding`), so the
same list drives the ``.weights`` reader and writer and :func:`render_layout` writes it as cfg text.
:func:`check_layout` compares a parsed cfg with the list and names the first section (and line) that differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from backbones.cspnet import CspNetCfg
from detector.darknet.cfg import DarknetCfgError, Section, render_cfg


def _as_int(value: object, what: str) -> int:
    """``value`` (an option of a layer: filters, size, groups, ...) as the int it must be; TypeError otherwise."""
    if not isinstance(value, int):
        raise TypeError(f"darknet layout option {what}={value!r} is not an integer")
    return value


@dataclass(frozen=True)
class ConvBinding:
    """Where a darknet convolution lives in our model: module ``prefix`` (a ConvBNAct, or an ``nn.Conv2d`` with bias
    when ``bn`` is False) and the output-channel rows ``[start, stop)`` of its weights (two darknet convs fill one
    of ours: a CSP stage's cross and block convs are our ``conv_exp``)."""

    prefix: str
    start: int
    stop: int
    bn: bool


@dataclass
class Layer:
    """One expected section: ``type``, the options that must match (``key -> value``; routes and shortcuts hold
    absolute layer numbers) and, for convolutions, ``in_chs`` and the :class:`ConvBinding`."""

    type: str
    options: dict[str, object]
    conv: ConvBinding | None = None
    in_chs: int = 0

    def int_option(self, key: str, default: int | None = None) -> int:
        """Integer option ``key`` (``default`` when absent), e.g. a convolution's ``filters``, ``size``, ``groups``."""
        return _as_int(self.options.get(key, default), key)

    def num_floats(self) -> int:
        """Floats this layer takes in a ``.weights`` file (0 unless a convolution)."""
        if self.conv is None:
            return 0
        filters, size, groups = self.int_option("filters"), self.int_option("size"), self.int_option("groups", 1)
        return filters * (self.in_chs // groups) * size * size + filters * (4 if self.conv.bn else 1)


@dataclass
class _Builder:
    layers: list[Layer] = field(default_factory=list)
    chs: list[int] = field(default_factory=list)  # output channels of each layer

    @property
    def last(self) -> int:
        return len(self.layers) - 1

    def conv(self, prefix, filters, size=1, stride=1, groups=1, act="leaky", rows=None, bn=True, src=None) -> int:
        in_chs = self.chs[-1 if src is None else src]
        opts: dict[str, object] = {"batch_normalize": 1} if bn else {}
        opts.update(filters=filters, size=size, stride=stride, pad=1, activation=act)
        if groups != 1:
            opts["groups"] = groups
        start, stop = rows if rows is not None else (0, filters)
        self.layers.append(Layer("convolutional", opts, ConvBinding(prefix, start, stop, bn), in_chs))
        self.chs.append(filters)
        return self.last

    def add(self, kind: str, chs: int, **opts: object) -> int:
        self.layers.append(Layer(kind, dict(opts)))
        self.chs.append(chs)
        return self.last

    def route(self, *srcs: int) -> int:
        return self.add("route", sum(self.chs[s] for s in srcs), layers=list(srcs))

    def stack(self, prefix: str, width: int, pairs: int) -> int:
        """A ConvStack: 1x1, then ``pairs`` x (3x3 doubling, 1x1 back)."""
        self.conv(f"{prefix}.0", width)
        for i in range(pairs):
            self.conv(f"{prefix}.{2 * i + 1}", 2 * width, 3)
            self.conv(f"{prefix}.{2 * i + 2}", width)
        return self.last


def _backbone(b: _Builder, cfg: CspNetCfg) -> list[int]:
    """Stem + CSP stages; returns the layer numbers of the stage outputs."""
    if cfg.act != "leaky" or not cfg.stem.pool or cfg.stem.pool_kernel != 2:
        raise ValueError("the darknet layout needs the cspresnext50_darknet backbone (leaky, 2x2/2 stem pool)")
    b.chs.append(3)  # the input image (popped below)
    b.conv("backbone.stem.conv1", cfg.stem.out_chs, cfg.stem.kernel_size, cfg.stem.stride)
    b.chs.pop(0)
    b.add("maxpool", b.chs[-1], size=2, stride=2)
    outs = []
    for i, s in enumerate(cfg.stages):
        if s.block != "bottle" or s.cross_ratio is None or not s.block_first:
            raise ValueError(f"stage {i}: the darknet layout needs bottleneck blocks, cross_ratio and block_first")
        p = f"backbone.stages.{i}"
        exp, cross, block = (
            round(s.out_chs * s.expand_ratio),
            round(s.out_chs * s.cross_ratio),
            round(s.out_chs * s.block_ratio),
        )
        mid = round(block * s.bottle_ratio)
        if s.stride != 1:
            b.conv(f"{p}.conv_down", s.out_chs if s.down_growth else b.chs[-1], 3, s.stride, s.groups)
        act = "linear" if s.cross_linear else "leaky"
        cross_idx = b.conv(f"{p}.conv_exp", cross, act=act, rows=(0, cross))
        b.route(cross_idx - 1)
        b.conv(f"{p}.conv_exp", exp - cross, act=act, rows=(cross, exp))
        for j in range(s.depth):
            b.conv(f"{p}.blocks.{j}.conv1", mid)
            b.conv(f"{p}.blocks.{j}.conv2", mid, 3, groups=s.groups)
            b.conv(f"{p}.blocks.{j}.conv3", block, act="linear")
            b.add("shortcut", block, activation="leaky", **{"from": [b.last - 3]})
        b.conv(f"{p}.conv_transition_b", block)
        b.route(b.last, cross_idx)
        outs.append(b.conv(f"{p}.conv_transition", s.out_chs))
    return outs[-3:]


def build_layout(
    backbone: CspNetCfg,
    widths: Sequence[int],
    spp_kernels: Sequence[int],
    masks: Sequence[Sequence[int]],
    num_anchors: int,
    num_classes: int,
    depth: int = 2,
) -> list[Layer]:
    """The darknet layers of our detector with this backbone description, neck ``widths`` (P3, P4, P5), SPP kernels,
    ``[yolo]`` anchor ``masks`` per level (indices into ``num_anchors`` anchors) and class count."""
    b = _Builder()
    c3, c4, c5 = _backbone(b, backbone)
    w3, w4, w5 = widths
    # SPP block on C5 (darknet concat order: largest pool first, the input last)
    pre = b.stack("neck.pre_spp", w5, 1)
    pools = []
    for i, k in enumerate(spp_kernels):
        if i:
            b.route(pre)
        pools.append(b.add("maxpool", w5, size=k, stride=1))
    b.route(*pools[::-1], pre)
    x5 = b.stack("neck.post_spp", w5, 1)
    # top-down
    b.conv("neck.lat5", w4)
    up5 = b.add("upsample", w4, stride=2)
    b.route(c4)
    b.conv("neck.in4", w4)
    b.route(b.last, up5)
    td4 = b.stack("neck.td4", w4, depth)
    b.conv("neck.lat4", w3)
    up4 = b.add("upsample", w3, stride=2)
    b.route(c3)
    b.conv("neck.in3", w3)
    b.route(b.last, up4)
    p = b.stack("neck.td3", w3, depth)
    # heads and the bottom-up path
    for level, (width, lateral) in enumerate(((w3, None), (w4, td4), (w5, x5))):
        if lateral is not None:
            b.route(p)
            b.conv(f"neck.down{level + 2}", width, 3, 2)
            b.route(b.last, lateral)
            p = b.stack(f"neck.bu{level + 3}", width, depth)
        b.conv(f"head.convs.{level}", 2 * width, 3)
        filters = len(masks[level]) * (5 + num_classes)
        b.conv(f"head.preds.{level}", filters, act="linear", bn=False)
        b.add("yolo", filters, mask=list(masks[level]), classes=num_classes, num=num_anchors)
    return b.layers


def num_floats(layers: Sequence[Layer]) -> int:
    """Floats of a ``.weights`` file for these layers (after its header)."""
    return sum(layer.num_floats() for layer in layers)


# keys each section type may carry (others change the computation and are refused), with darknet's defaults
_DEFAULTS: dict[str, dict[str, object]] = {
    "convolutional": {
        "batch_normalize": 0, "filters": 1, "size": 1, "stride": 1, "pad": 0, "padding": 0, "groups": 1,
        "activation": "logistic", "dilation": 1,
    },
    "maxpool": {"size": None, "stride": 1, "padding": None},
    "route": {"layers": None, "groups": 1, "group_id": 0},
    "shortcut": {"from": None, "activation": "linear", "weights_type": "none", "weights_normalization": "none"},
    "upsample": {"stride": 2, "scale": 1},
    "yolo": {"mask": None, "classes": 20, "num": 1, "new_coords": 0},
}  # fmt: skip
# [yolo] sections may carry any other key: anchors and scale_x_y become our config (convert.py), the rest only
# affects darknet's training or its own thresholds / NMS.


def _effective(section: Section, source: str) -> dict[str, object]:
    """The section's computation-relevant options with darknet's defaults filled in and references made absolute."""
    defaults = _DEFAULTS.get(section.type)
    if defaults is None:
        raise DarknetCfgError(f"{section.where(source)}: layer type [{section.type}] is not part of this layout")
    if section.type != "yolo":
        for key in section.options:
            if key not in defaults:
                raise DarknetCfgError(
                    f"{section.where(source, key)}: option {key!r} is not supported in [{section.type}] "
                    f"(supported: {', '.join(defaults)})"
                )
    out: dict[str, object] = {}
    for key, default in defaults.items():
        if key in ("layers", "from", "mask"):
            values = section.get_list(key, source)
            out[key] = [v + section.index if v < 0 and key != "mask" else v for v in values]
        elif isinstance(default, str):
            out[key] = section.options.get(key, default).lower()
        else:
            out[key] = section.get_int(key, -1 if default is None else _as_int(default, key), source)
    if section.type == "convolutional":
        pad = out.pop("pad")
        out["padding"] = _as_int(out["size"], "size") // 2 if pad else out["padding"]
    elif section.type == "maxpool":
        out["size"] = out["size"] if out["size"] != -1 else out["stride"]
        out["padding"] = out["padding"] if out["padding"] != -1 else _as_int(out["size"], "size") - 1
    return out


def _expected(layer: Layer) -> dict[str, object]:
    base = {k: v for k, v in _DEFAULTS[layer.type].items() if v is not None}
    base.update(layer.options)
    if layer.type == "convolutional":
        base.pop("pad")
        base["padding"] = layer.int_option("size") // 2
    elif layer.type == "maxpool":
        base["padding"] = layer.int_option("size") - 1
    return base


def check_layout(sections: Sequence[Section], layers: Sequence[Layer], source: str) -> None:
    """Raise :class:`DarknetCfgError` at the first cfg section that differs from ``layers`` (type or option), naming
    the file, line, layer number, the key, its value and the expected one."""
    for section, layer in zip(sections, layers, strict=False):
        if section.type != layer.type:
            raise DarknetCfgError(
                f"{section.where(source)}: expected [{layer.type}] here in the CSPResNeXt-50 PANet-SPP layout"
                f"{_binding(layer)}; this cfg's layers differ from csresnext50-panet-spp.cfg"
            )
        got, want = _effective(section, source), _expected(layer)
        for key, value in want.items():
            if got.get(key) != value:
                raise DarknetCfgError(
                    f"{section.where(source, key)}: {key}={_show(got.get(key))}, expected {_show(value)} in the "
                    f"CSPResNeXt-50 PANet-SPP layout{_binding(layer)}"
                )
    if len(sections) != len(layers):
        where = sections[len(layers)].where(source) if len(sections) > len(layers) else f"{source}: end of file"
        raise DarknetCfgError(
            f"{where}: the cfg has {len(sections)} layers, the CSPResNeXt-50 PANet-SPP layout has {len(layers)}"
        )


def _binding(layer: Layer) -> str:
    return f" (our {layer.conv.prefix})" if layer.conv is not None else ""


def _show(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def render_layout(
    layers: Sequence[Layer], net_options: Mapping[str, object], yolo_options: Sequence[Mapping[str, object]]
) -> str:
    """Cfg text of ``layers`` (routes and shortcuts written relative, as darknet's cfgs do); ``yolo_options[i]``
    adds keys (anchors, scale_x_y, ...) to the i-th ``[yolo]`` section."""
    out: list[tuple[str, Mapping[str, object]]] = []
    level = 0
    for i, layer in enumerate(layers):
        opts = dict(layer.options)
        for key in ("layers", "from"):
            refs = opts.get(key)
            if isinstance(refs, list):  # absolute layer numbers -> relative
                opts[key] = [_as_int(v, key) - i for v in refs]
        if layer.type == "yolo":
            opts.update(yolo_options[level])
            level += 1
        out.append((layer.type, opts))
    return render_cfg(net_options, out)
