"""The shapes demo video with ground-truth tracks: hard enough to measure a tracker (docs/TRACKING.md).

Shapes move over a textured background at changing speeds; some bounce inside the frame, others travel out of it
and come back (their ID stays: MOTChallenge ground truth keeps an identity across exits); objects drawn later pass
over earlier ones and hide part of them. Everything is a function of ``seed``. Written beside the mp4 ``<name>.mp4``:
``<name>.json`` (per frame: ``boxes_xyxy`` pixels -- the whole object, hidden parts included, clipped to the frame --
``labels``, ``track_ids``, ``visibility``, the visible fraction 0-1) and ``gt.txt`` (MOTChallenge rows
``frame,id,x,y,w,h,1,class,visibility``, frames from 1). Objects entirely hidden or out of the frame are left out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detector.data.synthetic.memory_check import check_memory, render_bytes
from detector.data.synthetic.shapes import (
    CLASS_NAMES,
    _contrasting_colour,
    _is_own_video,
    render_shape,
    textured_background,
)
from detector.output_files import atomic_path, check_output_file, write_text_atomic

GT_FILE = "gt.txt"
OCCLUSION_MIN = 0.05  # a crossing: the upper object hides at least this fraction of the lower one


@dataclass
class _Mover:
    """One object: class, radius (px), centre and velocity (px, px/frame), angle and spin (rad, rad/frame), RGB
    colour; ``wall`` how far beyond the frame edge it turns (px; negative: it bounces inside the frame)."""

    cls: int
    r: float
    pos: np.ndarray
    vel: np.ndarray
    angle: float
    spin: float
    col: np.ndarray
    wall: float

    def step(self, size: int, rng: np.random.Generator, scale: float) -> bool:
        """Move one frame; now and then change speed (x0.4-2) and heading (+/- ~30 degrees): returns True then."""
        change = rng.random() < 1 / 35
        if change:
            speed = float(np.clip(np.hypot(*self.vel) * rng.uniform(0.4, 2.0), 0.6 * scale, 4.5 * scale))
            heading = math.atan2(self.vel[1], self.vel[0]) + rng.normal(0, 0.5)
            self.vel = np.array([math.cos(heading), math.sin(heading)]) * speed
        self.pos = self.pos + self.vel
        self.angle += self.spin
        lo, hi = -self.wall, size + self.wall
        for k in range(2):
            if not lo <= self.pos[k] <= hi:
                self.vel[k] = -self.vel[k]
                self.pos[k] = float(np.clip(self.pos[k], lo, hi))
        return change


def _movers(size: int, num_objects: int, rng: np.random.Generator, bg: np.ndarray) -> list[_Mover]:
    scale = size / 256
    movers = []
    for i in range(num_objects):
        r = max(4.0, size * rng.uniform(0.05, 0.085))
        speed, heading = rng.uniform(1.0, 3.0) * scale, rng.uniform(0, 2 * math.pi)
        leaves = i < max(1, round(num_objects * 0.4))  # these travel out of the frame and come back
        movers.append(
            _Mover(
                cls=int(rng.integers(len(CLASS_NAMES))),
                r=r,
                pos=rng.uniform(r, size - r, 2),
                vel=np.array([math.cos(heading), math.sin(heading)]) * speed,
                angle=rng.uniform(0, 2 * math.pi),
                spin=rng.uniform(-0.08, 0.08),
                col=_contrasting_colour(bg.reshape(-1, 3).mean(0), rng),
                wall=2 * r + 20 * scale if leaves else -r,
            )
        )
    return movers


def check_tracks_video_out(out_path: Path, own: bool, exist_ok: bool) -> None:
    """OutputFileError when ``gt.txt`` beside the video exists, was not written with it (``own``) and not
    ``exist_ok``."""
    if not own:
        check_output_file(out_path.with_name(GT_FILE), "--out", exist_ok=exist_ok, what="the ground-truth file")


def render_tracks_video(
    path: Path, num_frames: int, size: int, seed: int, fps: int, num_objects: int
) -> tuple[list[dict], list[str], dict]:
    """Write the mp4 ``path``; return (per-frame JSON records, gt.txt rows, stats: frames, objects, most objects in
    one frame, crossings (a pair starts to overlap, the upper one hiding >= 5 % of the lower), re-entries (an object
    comes back after leaving the frame), speed changes)."""
    rng = np.random.default_rng([seed, 3])
    bg = textured_background(size, size, rng)
    movers = _movers(size, num_objects, rng, bg)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (size, size))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4 ('mp4v') to {path}; check the folder and the codec")
    frames, rows = [], []
    occluding: set[tuple[int, int]] = set()
    crossings, reentries, max_at_once, speed_changes = 0, 0, 0, 0
    seen_out = [False] * len(movers)  # left the frame after being in it
    was_in = [True] * len(movers)
    for f in range(num_frames):
        img = bg.copy()
        masks = []
        for o in movers:
            mask = np.zeros((size, size), np.uint8)
            render_shape(mask, CLASS_NAMES[o.cls], float(o.pos[0]), float(o.pos[1]), o.r, o.angle)
            masks.append(mask > 0)
            img[mask > 0] = o.col.astype(np.uint8)
        rec: dict = {"frame": f, "boxes_xyxy": [], "labels": [], "track_ids": [], "visibility": []}
        now_occluding = set()
        for i, (o, m) in enumerate(zip(movers, masks, strict=True)):
            area = int(m.sum())
            covered = np.zeros_like(m)
            for j in range(i + 1, len(masks)):
                hidden = m & masks[j]
                if hidden.sum() >= OCCLUSION_MIN * max(area, 1):
                    now_occluding.add((i, j))
                covered |= masks[j]
            inside = area >= 16
            if inside and not was_in[i] and seen_out[i]:
                reentries += 1
            if not inside and was_in[i]:
                seen_out[i] = True
            was_in[i] = inside
            vis = float((m & ~covered).sum()) / max(area, 1)
            if not inside or vis <= 0:
                continue
            ys, xs = np.nonzero(m)
            box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
            rec["boxes_xyxy"].append(box)
            rec["labels"].append(o.cls)
            rec["track_ids"].append(i + 1)
            rec["visibility"].append(round(vis, 3))
            x1, y1, x2, y2 = box
            rows.append(f"{f + 1},{i + 1},{x1},{y1},{x2 - x1},{y2 - y1},1,{o.cls},{vis:.3f}")
        crossings += len(now_occluding - occluding)
        occluding = now_occluding
        max_at_once = max(max_at_once, len(rec["track_ids"]))
        writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        frames.append(rec)
        speed_changes += sum(o.step(size, rng, size / 256) for o in movers)
    writer.release()
    stats = {"frames": num_frames, "objects": num_objects, "max_at_once": max_at_once, "crossings": crossings}
    return frames, rows, {**stats, "reentries": reentries, "speed_changes": speed_changes}


def write_tracks_video(out_path: Path, num_frames: int, size: int, seed: int, fps: int, num_objects: int) -> dict:
    """Render and write the mp4, ``<name>.json`` and ``gt.txt`` (see the module docstring); the caller has checked
    the outputs. Returns the paths, the frame count and the stats."""
    with atomic_path(out_path, fsync=False) as tmp:
        frames, rows, stats = render_tracks_video(tmp, num_frames, size, seed, fps, num_objects)
    gt_json = out_path.with_suffix(".json")
    doc = {"class_names": CLASS_NAMES, "fps": fps, "stats": stats, "frames": frames}
    write_text_atomic(gt_json, json.dumps(doc), fsync=False)
    write_text_atomic(out_path.with_name(GT_FILE), "".join(r + "\n" for r in rows), fsync=False)
    return {"video": str(out_path), "ground_truth": str(gt_json), "mot_gt": str(out_path.with_name(GT_FILE)),
            "frames": num_frames, "stats": stats}  # fmt: skip


def check_video_out(out_path: str | Path, exist_ok: bool = False) -> None:
    """Raise OutputFileError when :func:`make_shapes_video` would replace an ``out_path`` (mp4) or its ``.json``
    that it did not write itself, unless ``exist_ok``."""
    out_path = Path(out_path)
    if not _is_own_video(out_path):
        for p in (out_path, out_path.with_suffix(".json")):
            check_output_file(p, "--out", exist_ok=exist_ok, what="the video file")


def make_shapes_video(
    out_path: str | Path,
    num_frames: int = 300,
    size: int = 256,
    seed: int = 0,
    fps: int = 25,
    num_objects: int = 10,
    *,
    exist_ok: bool = False,
    size_option: str = "--size",
) -> dict:
    """Write an mp4 ('mp4v') of shapes moving, crossing, leaving and coming back, with ground-truth tracks beside it:
    ``<out>.json`` ``{"class_names", "fps", "stats", "frames": [{"frame", "boxes_xyxy" (pixels), "labels",
    "track_ids", "visibility"}]}`` and MOTChallenge ``gt.txt`` (:mod:`detector.data.synthetic.shapes_video`).
    Returns paths, frame count and stats (objects at once, crossings, exits and re-entries).

    Files that exist are replaced only when they are an earlier video of this function (its ground truth JSON) or
    ``exist_ok``; otherwise OutputFileError, before anything is written.
    """
    out_path = Path(out_path)
    check_memory(render_bytes(size), f"{size_option} {size} (video)")
    own = _is_own_video(out_path)
    check_video_out(out_path, exist_ok)
    check_tracks_video_out(out_path, own, exist_ok)
    return write_tracks_video(out_path, num_frames, size, seed, fps, num_objects)
