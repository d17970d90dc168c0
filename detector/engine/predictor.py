"""Inference on raw images: letterbox, batch, device/precision handling, conv+BN fusion, and input sources.

``Predictor(model, ...)(list of RGB uint8 images) -> list[dict]`` with boxes in original image pixels.
``open_source(src)`` turns an image path, folder, glob, video file, webcam index or stream URL into frames.
"""

from __future__ import annotations

import glob as globlib
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from detector.data.image_io import ImageReadError, read_image
from detector.data.letterbox import letterbox

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".dng", ".mpo", ".pgm", ".ppm"}
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm", ".gif", ".ts", ".asf"}
_EXTS_TEXT = ", ".join(sorted(IMAGE_EXTS))
STREAM_PREFIXES = ("rtsp://", "rtmp://", "http://", "https://")


def select_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``; ``cuda`` without a GPU is an error."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} requested but CUDA is not available; use --device cpu or auto")
    return torch.device(device)


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm2d that directly follows a Conv2d into the conv's weights/bias (in place; eval mode).

    Recognised pairs: ``module.conv`` + ``module.bn`` (ConvBNAct), ``convN`` + ``bnN`` (torchvision ResNets) and a
    Conv2d followed by a BatchNorm2d inside an ``nn.Sequential``. The BN is replaced by ``nn.Identity``. Only exact
    ``nn.BatchNorm2d`` modules are folded (subclasses may carry an activation). Outputs are unchanged up to float
    rounding. Returns ``model`` (switched to eval mode: fusion freezes the running statistics).
    """
    model.eval()
    for module in list(model.modules()):
        children = dict(module.named_children())
        pairs: list[tuple[str, str]] = []
        for name, child in children.items():
            if isinstance(child, nn.Conv2d):
                bn_name = name.replace("conv", "bn")
                if bn_name != name and bn_name in children:
                    pairs.append((name, bn_name))
        if isinstance(module, nn.Sequential):
            names = list(children)
            pairs += [(a, b) for a, b in zip(names, names[1:], strict=False) if isinstance(children[a], nn.Conv2d)]
        for conv_name, bn_name in pairs:
            conv, bn = getattr(module, conv_name), getattr(module, bn_name)
            if type(bn) is not nn.BatchNorm2d or bn.num_features != conv.out_channels or not bn.track_running_stats:
                continue
            setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
            setattr(module, bn_name, nn.Identity())
    return model


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Predictor:
    """Run a detector on lists of RGB uint8 images of any size; boxes come back in original image pixels.

    ``img_size``: long side of the network input (pixels, multiple of 32). ``rect=True`` letterboxes each batch to the
    smallest multiple-of-32 rectangle (faster on non-square images); ``rect=False`` pads to ``img_size x img_size``.
    ``half=None`` means fp16 on CUDA, fp32 on CPU. ``fuse=True`` folds BatchNorm into convs (see :func:`fuse_conv_bn`).
    ``channels_last`` (default) runs model and input in channels_last memory format, the faster one for these convs
    on GPUs and CPUs alike (``tools/benchmark.py detector`` times this same setting by default).
    After each call ``self.timing`` holds ``{"pre", "infer", "post"}`` in milliseconds for that batch; ``infer``
    includes decoding and NMS (``model.predict``).
    """

    def __init__(
        self,
        model: nn.Module,
        img_size: int = 640,
        device: str | torch.device = "auto",
        half: bool | None = None,
        conf_thres: float = 0.25,
        iou_thres: float = 0.45,
        max_det: int = 300,
        class_names: Sequence[str] | None = None,
        rect: bool = True,
        fuse: bool = False,
        channels_last: bool = True,
    ):
        if img_size % 32 or img_size <= 0:
            raise ValueError(f"img_size must be a positive multiple of 32 (the model's largest stride), got {img_size}")
        self.device = select_device(device)
        if half and self.device.type != "cuda":
            warnings.warn("half precision is only used on CUDA; running in fp32 on CPU", stacklevel=2)
        self.half = self.device.type == "cuda" if half is None else bool(half) and self.device.type == "cuda"
        self.img_size, self.rect = int(img_size), bool(rect)
        self.conf_thres, self.iou_thres, self.max_det = float(conf_thres), float(iou_thres), int(max_det)
        model = model.eval()
        if fuse:
            fuse_conv_bn(model)
        model = model.to(self.device)
        if self.half:
            model = model.half()
        self.channels_last = bool(channels_last)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        names = class_names if class_names is not None else getattr(model, "class_names", None)
        self.class_names = [str(n) for n in names] if names is not None else []
        self.timing: dict[str, float] = {"pre": 0.0, "infer": 0.0, "post": 0.0}

    def preprocess(self, images: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """RGB uint8 ``[H, W, 3]`` images -> (uint8 ``[B, 3, S_h, S_w]``, lb_params ``[B, 3]``, orig_sizes ``[B, 2]``).

        Rect mode pads smaller letterboxed images at the bottom/right up to the batch's largest shape, which leaves
        their ``(scale, pad_x, pad_y)`` unchanged.
        """
        if len(images) == 0:
            raise ValueError("Predictor got an empty list of images")
        boxed, params = [], []
        for i, img in enumerate(images):
            if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                desc = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
                raise ValueError(f"image {i}: expected an RGB uint8 [H, W, 3] array, got {desc}")
            out, p = letterbox(img, self.img_size, auto=self.rect, stride=32)
            boxed.append(out)
            params.append(p)
        hmax, wmax = max(b.shape[0] for b in boxed), max(b.shape[1] for b in boxed)
        batch = np.full((len(boxed), hmax, wmax, 3), 114, dtype=np.uint8)
        for i, b in enumerate(boxed):
            batch[i, : b.shape[0], : b.shape[1]] = b
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()
        lb = torch.tensor([[p.scale, p.pad_x, p.pad_y] for p in params], dtype=torch.float32)
        sizes = torch.tensor([[img.shape[0], img.shape[1]] for img in images], dtype=torch.int64)
        return x, lb, sizes

    @torch.inference_mode()
    def __call__(self, images: Sequence[np.ndarray]) -> list[dict]:
        """Detect objects in RGB uint8 images (one batch).

        Returns one dict per image: ``boxes_xyxy`` float32 ``[N, 4]`` (original image pixels), ``scores`` ``[N]``,
        ``labels`` int64 ``[N]`` (0..C-1), ``names`` (list of N class names); tensors on the CPU.
        """
        t0 = time.perf_counter()
        x, lb, sizes = self.preprocess(images)
        x = x.to(self.device, non_blocking=True)
        x = (x.half() if self.half else x.float()) / 255.0
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        _sync(self.device)
        t1 = time.perf_counter()
        preds = self.model.predict(
            x,
            conf_thres=self.conf_thres,
            iou_thres=self.iou_thres,
            max_det=self.max_det,
            lb_params=lb.to(self.device),
            orig_sizes=sizes.to(self.device),
        )
        _sync(self.device)
        t2 = time.perf_counter()
        results = []
        for p in preds:
            labels = p["labels"].long().cpu()
            results.append(
                {
                    "boxes_xyxy": p["boxes_xyxy"].float().cpu(),
                    "scores": p["scores"].float().cpu(),
                    "labels": labels,
                    "names": [self.name_of(int(c)) for c in labels],
                }
            )
        t3 = time.perf_counter()
        self.timing = {"pre": (t1 - t0) * 1e3, "infer": (t2 - t1) * 1e3, "post": (t3 - t2) * 1e3}
        return results

    def name_of(self, label: int) -> str:
        """Class name of a contiguous label (its index as text when there is no name)."""
        return self.class_names[label] if 0 <= label < len(self.class_names) else str(label)


class SourceError(ValueError):
    """The detection source cannot be used (missing, unreadable, unopenable); the message names it."""


@dataclass
class Frame:
    """One item of a source: ``image`` RGB uint8 ``[H, W, 3]`` or None when unreadable (``error`` says why)."""

    image: np.ndarray | None
    path: str  # file / stream the frame came from
    index: int  # image number (image sources) or frame number (video/stream), from 0
    error: str | None = None


class Source:
    """Frames from an image file, folder, glob, video file, webcam index (``"0"``) or stream URL (rtsp/rtmp/http).

    Attributes: ``kind`` (``images`` | ``video`` | ``stream``), ``paths`` (image files), ``fps`` and ``frame_count``
    (videos/streams; ``frame_count`` 0 when unknown). Opening raises :class:`SourceError` for a missing path, an empty
    folder/glob, a single unreadable image or an unopenable video. Unreadable images inside a folder or glob are
    yielded with ``image=None`` and ``error`` set, so the caller can warn and count them.
    """

    def __init__(self, source: str | int):
        self.source = str(source)
        self.paths: list[Path] = []
        self.fps, self.frame_count = 0.0, 0
        self._cap: cv2.VideoCapture | None = None
        src = self.source
        path = Path(src)
        if src.isdigit() or src.lower().startswith(STREAM_PREFIXES):
            self.kind = "stream"
            self._open_video(int(src) if src.isdigit() else src, f"webcam/stream {src!r}")
        elif any(ch in src for ch in "*?[") and not path.exists():
            self.kind = "images"
            self.paths = sorted(
                Path(p) for p in globlib.glob(src, recursive=True) if Path(p).suffix.lower() in IMAGE_EXTS
            )
            if not self.paths:
                raise SourceError(
                    f"--source {src!r}: the glob matches no image files ({', '.join(sorted(IMAGE_EXTS))})"
                )
        elif not path.exists():
            raise SourceError(f"--source {src!r}: no such file or folder")
        elif path.is_dir():
            self.kind = "images"
            self.paths = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
            if not self.paths:
                raise SourceError(
                    f"--source {src!r}: the folder holds no image files ({', '.join(sorted(IMAGE_EXTS))})"
                )
        elif path.suffix.lower() in VIDEO_EXTS:
            self.kind = "video"
            self._open_video(str(path), f"video {src!r}")
        else:
            self.kind = "images"
            self.paths = [path]
            self._single = self._read(path, 0)  # a single unreadable image is an error, not a warning
            if self._single.error:
                raise SourceError(f"--source {src!r}: {self._single.error}")

    def _open_video(self, target: str | int, what: str) -> None:
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {what}: check the path/URL/camera index and that the codec is supported")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise SourceError(
                f"cannot read any frame from {what}: the file is empty, corrupt or in an unsupported codec"
            )
        self._cap, self._first = cap, first
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else 30.0
        self.frame_count = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if self.kind == "video" else 0

    @staticmethod
    def _read(path: Path, index: int) -> Frame:
        try:
            return Frame(read_image(path), str(path), index)
        except ImageReadError as e:
            return Frame(None, str(path), index, error=str(e))

    def __len__(self) -> int:
        """Number of images, or the video's frame count (0 when unknown: streams)."""
        return len(self.paths) if self.kind == "images" else self.frame_count

    def __iter__(self) -> Iterator[Frame]:
        if self.kind == "images":
            for i, p in enumerate(self.paths):
                yield self._single if len(self.paths) == 1 and hasattr(self, "_single") else self._read(p, i)
            return
        cap, frame, i = self._cap, self._first, 0
        try:
            while frame is not None:
                yield Frame(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), self.source, i)
                ok, frame = cap.read()
                frame, i = (frame if ok else None), i + 1
        finally:
            self.close()

    def close(self) -> None:
        """Release the video capture (safe to call twice)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
