"""Test data (not a test module): darknet cfg text of CSPResNeXt50-PANet-SPP and random darknet weights for it.

The text is written here from the layer list of AlexeyAB/darknet ``cfg/csresnext50-panet-spp.cfg`` (and its
``-original-optimal`` twin, which differs only in anchors and ``scale_x_y``), in that file's own style (relative
routes ``-1,-16``, absolute ``65`` / ``38``), independently of ``detector/darknet/layout.py``: the tests check
that our layout accepts it and that OpenCV's darknet reader computes what our converted model computes. ``width``
scales every filter count and the group count (0.25: a ~3.8 M-parameter model for fast tests). The random weights
are written by walking the sections here, again without our layout code.
"""

from __future__ import annotations

import struct

import numpy as np

YOLOV3_ANCHORS = (10, 13, 16, 30, 33, 23, 30, 61, 62, 45, 59, 119, 116, 90, 156, 198, 373, 326)
YOLOV4_ANCHORS = (12, 16, 19, 36, 40, 28, 36, 75, 76, 55, 72, 146, 142, 110, 192, 243, 459, 401)


def csresnext50_panet_spp(
    classes: int = 80,
    width: float = 1.0,
    anchors: tuple[int, ...] = YOLOV4_ANCHORS,
    scale_x_y: tuple[float, ...] | None = (1.2, 1.1, 1.05),
    size: int = 608,
    yolo_extra: str = "",
) -> str:
    """Cfg text; ``scale_x_y=None`` leaves the key out (darknet's default 1, as csresnext50-panet-spp.cfg);
    ``yolo_extra`` is appended to every ``[yolo]`` section."""
    out = [f"[net]\n# Testing\nbatch=1\nsubdivisions=1\nwidth={size}\nheight={size}\nchannels=3\nmomentum=0.949\n"]

    def f(c: int) -> int:
        return int(c * width)

    def conv(filters: int, size: int = 1, stride: int = 1, act: str = "leaky", groups: int = 1, bn: bool = True):
        text = "[convolutional]\n" + ("batch_normalize=1\n" if bn else "")
        text += f"filters={filters}\nsize={size}\n" + (f"groups={groups}\n" if groups > 1 else "")
        out.append(text + f"stride={stride}\npad=1\nactivation={act}\n")

    def other(kind: str, **opts) -> None:
        out.append(f"[{kind}]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items()))

    groups = max(1, int(32 * width))

    def blocks(chs: int, n: int) -> None:
        for _ in range(n):
            conv(chs), conv(chs, 3, groups=groups), conv(chs, act="linear")
            other("shortcut", **{"from": -4, "activation": "leaky"})

    conv(f(64), 7, 2)
    other("maxpool", size=2, stride=2)
    conv(f(128)), other("route", layers=-2), conv(f(64))  # stage 1: cross 128, block part 64
    blocks(f(128), 3)
    conv(f(128)), other("route", layers="-1,-16"), conv(f(256))
    for chs, depth, act, back in ((256, 3, "linear", -16), (512, 5, "linear", -24), (1024, 2, "leaky", -12)):
        conv(f(chs), 3, 2, groups=groups)
        conv(f(chs), act=act), other("route", layers=-2), conv(f(chs), act=act)
        blocks(f(chs), depth)
        conv(f(chs)), other("route", layers=f"-1,{back}"), conv(f(2 * chs))
    # SPP
    conv(f(512)), conv(f(1024), 3), conv(f(512))
    other("maxpool", stride=1, size=5), other("route", layers=-2), other("maxpool", stride=1, size=9)
    other("route", layers=-4), other("maxpool", stride=1, size=13), other("route", layers="-1,-3,-5,-6")
    conv(f(512)), conv(f(1024), 3), conv(f(512))

    def five(chs: int) -> None:
        conv(chs), conv(2 * chs, 3), conv(chs), conv(2 * chs, 3), conv(chs)

    conv(f(256)), other("upsample", stride=2), other("route", layers=65), conv(f(256))
    other("route", layers="-1, -3"), five(f(256))
    conv(f(128)), other("upsample", stride=2), other("route", layers=38), conv(f(128))
    other("route", layers="-1, -3"), five(f(128))
    anchor_text = ", ".join(map(str, anchors))
    for level, (chs, back) in enumerate(((128, None), (256, -16), (512, -37))):
        if back is not None:
            other("route", layers=-4), conv(f(chs), 3, 2), other("route", layers=f"-1, {back}"), five(f(chs))
        conv(f(2 * chs), 3)
        conv(3 * (5 + classes), act="linear", bn=False)
        mask = ",".join(str(3 * level + i) for i in range(3))
        sxy = f"scale_x_y = {scale_x_y[level]}\n" if scale_x_y else ""
        out.append(
            f"[yolo]\nmask = {mask}\nanchors = {anchor_text}\nclasses={classes}\nnum=9\njitter=.3\n"
            f"ignore_thresh = .7\ntruth_thresh = 1\nrandom=1\n{sxy}iou_loss=ciou\nnms_kind=greedynms\n{yolo_extra}"
        )
    return "\n".join(out)


def random_weights(cfg_text: str, seed: int = 0, seen: int = 123456) -> bytes:
    """A darknet ``.weights`` file (version 0.2.5, 64-bit ``seen``) with random values for ``cfg_text``: BatchNorm
    beta ~ N(0, 0.1), gamma and variance ~ U(0.5, 1.5), mean ~ N(0, 0.1), kernels ~ N(0, 1 / fan_in)."""
    rng = np.random.default_rng(seed)
    sections = [s.strip() for s in cfg_text.split("[")[1:]]
    chs: list[int] = []
    prev, floats = 3, []
    for section in sections[1:]:  # skip [net]
        kind, _, body = section.partition("]")
        opts = dict(
            (k.strip(), v.strip()) for k, v in (line.split("=", 1) for line in body.splitlines() if "=" in line)
        )
        if kind == "convolutional":
            filters, k, g = int(opts["filters"]), int(opts["size"]), int(opts.get("groups", 1))
            fan_in = prev // g * k * k
            if opts.get("batch_normalize") == "1":
                beta, gamma = rng.normal(0, 0.1, filters), rng.uniform(0.5, 1.5, filters)
                floats += [beta, gamma, rng.normal(0, 0.1, filters), rng.uniform(0.5, 1.5, filters)]
            else:
                floats.append(rng.normal(0, 0.1, filters))
            floats.append(rng.normal(0, fan_in**-0.5, filters * fan_in))
            prev = filters
        elif kind == "route":
            refs = [int(v) for v in opts["layers"].split(",")]
            prev = sum(chs[r if r >= 0 else len(chs) + r] for r in refs)
        chs.append(prev)
    header = struct.pack("<3iq", 0, 2, 5, seen)
    return header + np.concatenate(floats).astype("<f4").tobytes()
