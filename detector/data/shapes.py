"""Built-in synthetic dataset: rendered shapes on textured backgrounds, in COCO format (and a short video).

Classes differ by shape, not by colour: circle, square, triangle, star, cross, ring. Objects are rotated, sized
log-uniformly (most >= 12 px), coloured with enough contrast to their background, may overlap a little; some
images are empty. Everything is a function of ``seed`` (each image has its own generator), so the same arguments
always give the same files. Boxes are the tight bounds of each shape's rendered mask (boxes_xywh in COCO JSON).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import cv2
import numpy as np

CLASS_NAMES = ["circle", "square", "triangle", "star", "cross", "ring"]


def _polygon(cls: str, cx: float, cy: float, r: float, angle: float) -> list[np.ndarray]:
    """Outline(s) of a polygonal shape of circumradius ``r`` pixels, rotated by ``angle`` radians."""

    def rot(pts: np.ndarray) -> np.ndarray:
        c, s = math.cos(angle), math.sin(angle)
        xy = pts @ np.array([[c, s], [-s, c]])
        return np.round((xy + (cx, cy)) * 16).astype(np.int32)  # 4 bits of sub-pixel precision

    if cls == "square":
        k = r / math.sqrt(2)
        return [rot(np.array([[-k, -k], [k, -k], [k, k], [-k, k]]))]
    if cls == "triangle":
        a = np.deg2rad([-90, 30, 150])
        return [rot(np.stack([np.cos(a), np.sin(a)], 1) * r)]
    if cls == "star":
        a = np.deg2rad(np.arange(10) * 36 - 90)
        rad = np.where(np.arange(10) % 2 == 0, r, r * 0.42)
        return [rot(np.stack([np.cos(a) * rad, np.sin(a) * rad], 1))]
    if cls == "cross":
        t, k = r * 0.3, r / math.sqrt(1 + 0.09)
        bar = np.array([[-k, -t], [k, -t], [k, t], [-k, t]])
        return [rot(bar), rot(bar[:, ::-1].copy())]
    raise ValueError(cls)


def render_shape(mask: np.ndarray, cls: str, cx: float, cy: float, r: float, angle: float) -> None:
    """Draw shape ``cls`` (one of CLASS_NAMES) filled with 255 into a uint8 ``mask`` [H, W]."""
    if cls in ("circle", "ring"):
        centre, shift = (round(cx * 16), round(cy * 16)), 4
        cv2.circle(mask, centre, round(r * 16), 255, -1, cv2.LINE_8, shift)
        if cls == "ring":
            cv2.circle(mask, centre, round(r * 0.55 * 16), 0, -1, cv2.LINE_8, shift)
        return
    for poly in _polygon(cls, cx, cy, r, angle):
        cv2.fillPoly(mask, [poly], 255, cv2.LINE_8, 4)


def textured_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Gradient + blurred noise + faint random lines: RGB uint8 [h, w, 3]."""
    c0, c1 = rng.uniform(30, 225, 3), rng.uniform(30, 225, 3)
    t = (
        np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        if rng.random() < 0.5
        else np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    )
    bg = c0 * (1 - t) + c1 * t + np.zeros((h, w, 1), np.float32)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 3)).astype(np.float32), (0, 0), rng.uniform(0.5, 3))
    bg = bg + noise * rng.uniform(8, 25) / max(float(noise.std()), 1e-6)
    bg = np.clip(bg, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 6))):  # clutter: thin low-contrast lines
        p1, p2 = rng.integers(0, (w, h), 2), rng.integers(0, (w, h), 2)
        col = tuple(int(v) for v in np.clip(bg[p1[1], p1[0]].astype(int) + rng.integers(-40, 40, 3), 0, 255))
        cv2.line(bg, tuple(int(v) for v in p1), tuple(int(v) for v in p2), col, int(rng.integers(1, 3)), cv2.LINE_AA)
    return bg


def _contrasting_colour(bg_mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    for _ in range(50):
        col = rng.uniform(0, 255, 3)
        if np.abs(col - bg_mean).sum() > 150:
            return col
    return 255.0 - bg_mean


def render_image(size: int, rng: np.random.Generator, max_objects: int = 8, empty_p: float = 0.05) -> tuple:
    """One synthetic image: (RGB uint8 [size, size, 3], boxes_xyxy float32 [N, 4] pixels, labels [N], areas [N])."""
    img = textured_background(size, size, rng)
    n = 0 if rng.random() < empty_p else int(rng.integers(1, max_objects + 1))
    boxes, labels, areas = [], [], []
    for _ in range(n * 4):  # rejection sampling on overlap
        if len(boxes) == n:
            break
        tiny = rng.random() < 0.05
        side = rng.uniform(8, 12) if tiny else math.exp(rng.uniform(math.log(12), math.log(size * 0.4)))
        r = side / 2
        cx, cy = rng.uniform(r * 0.6, size - r * 0.6, 2)  # may be cut by the border a little
        cls = int(rng.integers(len(CLASS_NAMES)))
        mask = np.zeros((size, size), np.uint8)
        render_shape(mask, CLASS_NAMES[cls], cx, cy, r, rng.uniform(0, 2 * math.pi))
        ys, xs = np.nonzero(mask)
        if len(xs) < 16:
            continue
        box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
        if boxes and _max_iou(box, np.array(boxes)) > 0.15:
            continue
        col = _contrasting_colour(img[mask > 0].reshape(-1, 3).mean(0), rng)
        shade = rng.uniform(0.85, 1.15, (size, size, 1))  # slight shading so objects are not flat
        obj = np.clip(col * shade, 0, 255).astype(np.uint8)
        img = np.where(mask[..., None] > 0, obj, img)
        boxes.append(box)
        labels.append(cls)
        areas.append(float(len(xs)))
    img = cv2.GaussianBlur(img, (3, 3), 0.6)  # soften aliased edges a bit
    return (img, np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64), np.array(areas))


def _max_iou(box: np.ndarray, boxes: np.ndarray) -> float:
    lt, rb = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return float((inter / (area(box) + area(boxes) - inter)).max())


def _write_split(out_dir: Path, split: str, num: int, size: int, seed: int) -> dict:
    img_dir = out_dir / split / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in range(num):
        rng = np.random.default_rng([seed, 0 if split == "train" else 1, i])
        img, boxes, labels, areas = render_image(size, rng)
        name = f"{i:06d}.jpg"
        cv2.imwrite(str(img_dir / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append({"id": i + 1, "file_name": name, "width": size, "height": size})
        for b, lab, area in zip(boxes, labels, areas, strict=True):
            xywh = [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": int(lab) + 1,
                    "bbox": xywh,
                    "area": area,
                    "iscrowd": 0,
                }
            )
    data = {
        "info": {"description": f"cspx-yolo shapes ({split}, seed {seed})"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(CLASS_NAMES)],
    }
    tmp = out_dir / f"{split}.json.tmp"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, out_dir / f"{split}.json")  # written last: its presence means the split is complete
    return {"images": num, "annotations": len(annotations)}


def make_shapes(
    out_dir: str | Path, num_train: int = 800, num_val: int = 200, img_size: int = 256, seed: int = 0
) -> dict:
    """Write ``out_dir/{train,val}/images/*.jpg`` and ``out_dir/{train,val}.json`` (COCO, category ids 1..6).

    Returns ``{"train": {images, annotations}, "val": {...}, "train_ann": path, ...}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"num_train": num_train, "num_val": num_val, "img_size": img_size, "seed": seed}
    result: dict = {
        "train": _write_split(out_dir, "train", num_train, img_size, seed),
        "val": _write_split(out_dir, "val", num_val, img_size, seed),
    }
    (out_dir / "shapes_meta.json").write_text(json.dumps(meta))
    for split in ("train", "val"):
        result[f"{split}_ann"] = str(out_dir / f"{split}.json")
        result[f"{split}_images"] = str(out_dir / split / "images")
    return result


def make_shapes_video(
    out_path: str | Path, num_frames: int = 48, size: int = 256, seed: int = 0, fps: int = 12, num_objects: int = 4
) -> dict:
    """Write an mp4 ('mp4v') of shapes moving over a static background, plus ``<out>.json`` ground truth:
    ``{"class_names", "fps", "frames": [{"frame", "boxes_xyxy" (pixels), "labels"}]}``. Returns paths and counts."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 2])
    bg = textured_background(size, size, rng)
    objs = []
    for _ in range(num_objects):
        r = rng.uniform(max(6.0, size * 0.05), max(7.0, size * 0.12))  # radius, pixels
        objs.append(
            {
                "cls": int(rng.integers(len(CLASS_NAMES))),
                "r": r,
                "pos": rng.uniform(r, size - r, 2),
                "vel": rng.uniform(-4, 4, 2),
                "angle": rng.uniform(0, 6.28),
                "spin": rng.uniform(-0.1, 0.1),
                "col": _contrasting_colour(bg.reshape(-1, 3).mean(0), rng),
            }
        )
    writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4 ('mp4v') to {out_path}; check the folder and the codec")
    frames = []
    for f in range(num_frames):
        img, boxes, labels = bg.copy(), [], []
        for o in objs:
            mask = np.zeros((size, size), np.uint8)
            render_shape(mask, CLASS_NAMES[o["cls"]], *o["pos"], o["r"], o["angle"])
            ys, xs = np.nonzero(mask)
            img[mask > 0] = o["col"].astype(np.uint8)
            boxes.append([int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1])
            labels.append(o["cls"])
            o["pos"] += o["vel"]
            o["angle"] += o["spin"]
            for k in range(2):  # bounce off the walls
                if not o["r"] <= o["pos"][k] <= size - o["r"]:
                    o["vel"][k] *= -1
                    o["pos"][k] = np.clip(o["pos"][k], o["r"], size - o["r"])
        writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        frames.append({"frame": f, "boxes_xyxy": boxes, "labels": labels})
    writer.release()
    gt_path = out_path.with_suffix(".json")
    gt_path.write_text(json.dumps({"class_names": CLASS_NAMES, "fps": fps, "frames": frames}))
    return {"video": str(out_path), "ground_truth": str(gt_path), "frames": num_frames}


def _get(obj: object, key: str, default: object = None) -> object:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


def _set(obj: object, key: str, value: object) -> None:
    if isinstance(obj, dict):
        obj[key] = value
    else:
        setattr(obj, key, value)


def ensure_shapes(data_cfg: object) -> dict | None:
    """If ``data_cfg.shapes`` is set, generate the dataset into ``shapes.root`` unless it is already there with the
    same parameters, and point ``data_cfg.train`` / ``data_cfg.val`` (ann, images) at it. Returns the paths dict,
    or None when ``shapes`` is not set. Works on config dataclasses and on plain dicts."""
    shapes = _get(data_cfg, "shapes")
    if not shapes:
        return None
    root = Path(str(_get(shapes, "root", "data/shapes")))
    params = {
        k: int(_get(shapes, k, d)) for k, d in (("num_train", 800), ("num_val", 200), ("img_size", 256), ("seed", 0))
    }
    meta_file = root / "shapes_meta.json"
    complete = all((root / f"{s}.json").is_file() for s in ("train", "val")) and meta_file.is_file()
    if not complete or json.loads(meta_file.read_text()) != params:
        make_shapes(root, **params)
    paths = {}
    for split in ("train", "val"):
        ann, images = str(root / f"{split}.json"), str(root / split / "images")
        split_cfg = _get(data_cfg, split)
        if split_cfg is None:
            _set(data_cfg, split, {"ann": ann, "images": images})
        else:
            _set(split_cfg, "ann", ann)
            _set(split_cfg, "images", images)
        paths[f"{split}_ann"], paths[f"{split}_images"] = ann, images
    return paths
