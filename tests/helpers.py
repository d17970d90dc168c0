"""Builders shared by the tests (a plain module, not a test module; fixtures stay in conftest files).

- detector stand-ins: a tiny hand-built ``Detector`` (``tiny_detector``) and the 4-image overfit batch;
- config-built tiny models: ``tiny_model`` (a narrow CSPResNeXt detector from configs/defaults.yaml) and
  ``write_tiny_checkpoint`` (the same, saved in the trainer's checkpoint format);
- training: ``tiny_config`` writes a YAML config for a seconds-long CPU run on the synthetic shapes set;
- data and evaluation: ``write_coco`` (annotation file), ``make_gt`` / ``make_predictions`` (crafted COCO sets).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from types import SimpleNamespace

import torch
import yaml
from torch import nn

from detector.config import Config, config_to_dict, load_config
from detector.data.synthetic.shapes_setup import shapes_split_paths
from detector.model import Detector, build_model
from detector.model.heads.decoupled.head import DecoupledHead
from detector.model.heads.yolov4.head import YoloHead
from detector.model.neck import SPPPAN

ROOT = Path(__file__).resolve().parents[1]  # the repository root
DEFAULTS = ROOT / "configs" / "defaults.yaml"

# ---------------------------------------------------------------- hand-built detector (no config)

SMALL_ANCHORS = [[10, 14, 20, 16, 16, 24], [28, 36, 40, 28, 36, 48], [56, 48, 48, 72, 80, 80]]  # px, 128-px images


class TinyBackbone(nn.Module):
    """Five stride-2 conv blocks; returns the stride 8/16/32 maps with ``channels``/``strides`` metadata."""

    def __init__(self, channels: tuple[int, int, int] = (16, 24, 32)):
        super().__init__()
        widths = [8, 12, *channels]
        layers, c_in = [], 3
        for c in widths:
            layers.append(nn.Sequential(nn.Conv2d(c_in, c, 3, 2, 1), nn.BatchNorm2d(c), nn.SiLU()))
            c_in = c
        self.stages = nn.ModuleList(layers)
        self.channels, self.strides = list(channels), [8, 16, 32]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i >= 2:
                outs.append(x)
        return outs


def tiny_detector(
    num_classes: int = 2, anchors=None, widths=(16, 24, 32), depth: int = 1, head: str = "yolov4", reg_max: int = 8
) -> Detector:
    """A small detector for tests: ``head`` is ``yolov4`` or ``decoupled``."""
    backbone = TinyBackbone()
    neck = SPPPAN(backbone.channels, backbone.strides, widths, depth)
    if head == "decoupled":
        det_head = DecoupledHead(neck.channels, neck.strides, num_classes, reg_max=reg_max)
    else:
        det_head = YoloHead(neck.channels, neck.strides, anchors or SMALL_ANCHORS, num_classes, hidden_mult=1.0)
    return Detector(backbone, neck, det_head)


def loss_cfg(**kw) -> SimpleNamespace:
    """YOLOv4 loss settings (gains, level balance, anchor ratio threshold) with ``kw`` overriding them."""
    base = dict(box=0.05, obj=1.0, cls=0.5, balance=[4.0, 1.0, 0.4], anchor_t=4.0, label_smoothing=0.0)
    base.update(kw)
    return SimpleNamespace(**base)


SIZE = 128
# per image: (label, x1, y1, x2, y2); label 0 = filled rectangle, 1 = filled circle
OBJECTS = [
    [(0, 10, 12, 50, 40), (1, 70, 60, 110, 100)],
    [(1, 20, 70, 56, 106), (0, 64, 16, 120, 44)],
    [(0, 40, 40, 72, 100)],
    [(1, 8, 8, 40, 40), (0, 80, 84, 116, 112), (1, 84, 12, 116, 44)],
]


def make_overfit_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """4 images of ``SIZE`` px with the ``OBJECTS`` drawn on noise; targets ``[M, 6]`` (batch, label, xyxy px)."""
    g = torch.Generator().manual_seed(0)
    images = torch.rand(len(OBJECTS), 3, SIZE, SIZE, generator=g) * 0.2 + 0.4
    ys, xs = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="ij")
    rows = []
    for i, objs in enumerate(OBJECTS):
        for label, x1, y1, x2, y2 in objs:
            if label == 0:
                mask = (xs >= x1) & (xs < x2) & (ys >= y1) & (ys < y2)
                color = torch.tensor([0.9, 0.2, 0.1])
            else:
                cx, cy, r = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2
                mask = (xs - cx) ** 2 + (ys - cy) ** 2 < r**2
                color = torch.tensor([0.1, 0.3, 0.9])
            images[i][:, mask] = color[:, None]
            rows.append([i, label, x1, y1, x2, y2])
    return images, torch.tensor(rows, dtype=torch.float32)


# ---------------------------------------------------------------- config-built tiny detector and checkpoint

TINY_BACKBONE_NECK = [
    "model.backbone.pretrained=false",
    "model.backbone.width_mult=0.125",
    "model.backbone.depth_mult=0.34",
    "model.neck.widths=[16,24,32]",
    "model.neck.depth=1",
]
TINY_OVERRIDES = [*TINY_BACKBONE_NECK, "model.head.type=yolov4"]  # the yolov4 family named (not the default)


def tiny_model_config(num_classes: int = 3) -> Config:
    """configs/defaults.yaml with ``TINY_OVERRIDES``: a narrow CSPResNeXt + YOLOv4-head detector."""
    return load_config(DEFAULTS, [*TINY_OVERRIDES, f"model.num_classes={num_classes}"])


def raise_objectness(model: nn.Module, obj_logit: float = -0.5) -> None:
    """Make a random YOLOv4-head model give varied, confident predictions (distinct scores: no NMS ties).

    BatchNorm statistics are calibrated on one random batch (else activations vanish with depth), prediction
    weights are spread and the objectness bias raised.
    """
    head = model.head
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative average: one batch sets the running statistics
    model.train()
    with torch.no_grad():
        model(torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)))
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.03
    with torch.no_grad():
        for pred in head.preds:
            pred.weight.normal_(0.0, 0.02)
            pred.bias.view(head.num_anchors, head.num_outputs)[:, 4] = obj_logit
            pred.bias.view(head.num_anchors, head.num_outputs)[:, 5:] = 0.0


def tiny_model(num_classes: int = 3, seed: int = 0) -> Detector:
    """Narrow random CSPResNeXt detector (eval mode) whose objectness bias is raised so it predicts boxes."""
    torch.manual_seed(seed)
    model = build_model(tiny_model_config(num_classes), num_classes=num_classes)
    raise_objectness(model)
    return model.eval()


def write_tiny_checkpoint(path: Path, num_classes: int = 3, seed: int = 0) -> Detector:
    """Save ``tiny_model`` in the trainer's checkpoint format (names ``cls0..``, cat ids ``1..C``); returns it."""
    model = tiny_model(num_classes, seed)
    torch.save(
        {
            "model": model.state_dict(),
            "config": config_to_dict(tiny_model_config(num_classes)),
            "class_names": [f"cls{i}" for i in range(num_classes)],
            "cat_ids": list(range(1, num_classes + 1)),
            "num_classes": num_classes,
        },
        path,
    )
    return model


# ---------------------------------------------------------------- training runs

# ~40k-parameter detector: CSPResNeXt at 1/16 width, one block per stage, a thin neck; anchors for 64-px images.
TINY_MODEL = {
    "backbone": {"name": "cspresnext50", "pretrained": False, "width_mult": 0.0625, "depth_mult": 0.34},
    "neck": {"widths": [16, 24, 32], "depth": 1, "spp_kernels": [3, 5, 7]},
    "head": {"type": "yolov4", "anchors": [[6, 6, 9, 9, 12, 12], [15, 15, 19, 19, 23, 23], [27, 27, 32, 32, 40, 40]]},
}

# the same with the anchor-free decoupled head (8 distance bins: 64-px images)
TINY_DECOUPLED = {**TINY_MODEL, "head": {"type": "decoupled", "reg_max": 8}}
TINY_MODELS = {"yolov4": TINY_MODEL, "decoupled": TINY_DECOUPLED}


def tiny_config(
    path: Path, out_dir: Path, shapes_root: Path, *, train: dict | None = None, data: dict | None = None, **sections
) -> Path:
    """Write a YAML config (based on configs/defaults.yaml) for a tiny CPU run on the synthetic shapes set."""
    cfg = {
        "base": str(DEFAULTS),
        "model": TINY_MODEL,
        "data": {
            "shapes": {"root": str(shapes_root), "num_train": 16, "num_val": 8, "img_size": 64, "seed": 0},
            **shapes_split_paths(shapes_root),  # data.train / data.val read the generated set
            "img_size": 64,
            "augment": {"close_mosaic": 1},
            **(data or {}),
        },
        "train": {
            "epochs": 2,
            "batch_size": 8,
            "nominal_batch_size": 16,
            "workers": 0,
            "device": "cpu",
            "amp": False,  # float32 on every CPU: results must not depend on the CPU's bf16 hardware
            "out_dir": str(out_dir),
            "warmup_epochs": 1.0,
            "save_batches": 1,
            **(train or {}),
        },
        "eval": {"batch_size": 8},
        **sections,
    }
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


# ---------------------------------------------------------------- COCO files and crafted evaluation sets


def write_coco(root: Path, images: list[dict], annotations: list[dict], categories: list[dict]) -> Path:
    """Write ``root/ann.json`` (COCO instances format) and return its path."""
    ann = root / "ann.json"
    ann.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return ann


CATEGORIES = [
    {"id": 1, "name": "person"},
    {"id": 3, "name": "car"},
    {"id": 7, "name": "train"},
    {"id": 12, "name": "x"},
]


def make_gt(seed: int, num_images: int = 12) -> dict:
    """COCO GT with small/medium/large boxes, crowd regions, empty images and non-contiguous category ids."""
    rng = random.Random(seed)
    images, anns = [], []
    for img_id in range(1, num_images + 1):
        w, h = rng.randint(200, 640), rng.randint(200, 640)
        images.append({"id": img_id * 10, "width": w, "height": h, "file_name": f"{img_id}.jpg"})
        if img_id % 4 == 0:
            continue  # empty image (background)
        for _ in range(rng.randint(1, 7)):
            side = rng.choice([rng.uniform(4, 30), rng.uniform(33, 95), rng.uniform(100, 190)])  # s / m / l
            bw, bh = side * rng.uniform(0.6, 1.0), side * rng.uniform(0.6, 1.0)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            crowd = int(rng.random() < 0.12)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img_id * 10,
                    "category_id": rng.choice([1, 3, 7]),  # category 12 has no GT at all
                    "bbox": [x, y, bw, bh],
                    "area": bw * bh * rng.uniform(0.6, 1.0),  # segmentation area, not the box area
                    "iscrowd": crowd,
                }
            )
    return {"images": images, "annotations": anns, "categories": copy.deepcopy(CATEGORIES)}


def make_predictions(gt: dict, seed: int, crowded_image: bool = True) -> list[dict]:
    """Jittered true positives, duplicates, wrong classes, false positives (also on empty images), >100 on one."""
    rng = random.Random(seed + 1000)
    preds = []
    for ann in gt["annotations"]:
        x, y, w, h = ann["bbox"]
        for _ in range(rng.choice([0, 1, 1, 2])):
            j = rng.uniform(0.0, 0.25)
            box = [x + rng.uniform(-j, j) * w, y + rng.uniform(-j, j) * h, w * rng.uniform(1 - j, 1 + j), h]
            cat = ann["category_id"] if rng.random() < 0.85 else rng.choice([1, 3, 7, 12])
            preds.append({"image_id": ann["image_id"], "category_id": cat, "bbox": box, "score": rng.random()})
    for img in gt["images"]:
        for _ in range(rng.randint(0, 4)):  # false positives everywhere, including the empty images
            bw, bh = rng.uniform(5, 150), rng.uniform(5, 150)
            box = [rng.uniform(0, img["width"] - bw), rng.uniform(0, img["height"] - bh), bw, bh]
            preds.append(
                {"image_id": img["id"], "category_id": rng.choice([1, 3, 7]), "bbox": box, "score": rng.random() * 0.6}
            )
    if crowded_image:  # 150 detections on one image: the maxDets=100 cut matters
        img = gt["images"][0]
        for ann in [a for a in gt["annotations"] if a["image_id"] == img["id"]] * 50:
            x, y, w, h = ann["bbox"]
            box = [x + rng.uniform(-3, 3), y + rng.uniform(-3, 3), w, h]
            preds.append({"image_id": img["id"], "category_id": ann["category_id"], "bbox": box, "score": rng.random()})
    return preds


def shapes_val_config(root: Path) -> tuple[Path, dict[str, str]]:
    """A 3-image synthetic val split (6 categories, ids 1..6, 64 px) under ``root/shapes`` and a CPU config
    ``root/c.yaml`` that evaluates it; returns ``(config path, make_shapes paths)``."""
    from detector.data.synthetic.shapes import make_shapes

    paths = make_shapes(root / "shapes", num_train=1, num_val=3, img_size=64, seed=0)
    config = root / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "base": str(ROOT / "configs" / "defaults.yaml"),
                "data": {"val": {"ann": paths["val_ann"], "images": paths["val_images"]}, "img_size": 64},
                "train": {"device": "cpu", "workers": 0},
                "eval": {"batch_size": 2},
            }
        )
    )
    return config, paths
