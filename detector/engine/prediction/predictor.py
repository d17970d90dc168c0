"""Inference on raw images: letterbox, batch, device/precision handling, conv+BN fusion.

``Predictor(model, ...)(list of RGB uint8 images) -> list[dict]`` with boxes in original image pixels.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Sequence

import numpy as np
import torch

from detector.config import PredictConfig
from detector.data.letterbox import letterbox
from detector.device import select_device
from detector.engine.prediction.cuda_graph import GraphedDecode
from detector.model import Detector
from detector.model.fuse import fuse_conv_bn
from detector.model.pointwise_gemm import pointwise_convs_as_gemm
from detector.runtime.base import Backend
from detector.runtime.predict import backend_predict, input_side

DEFAULT_IMG_SIZE = 640  # network input long side when ``predict.img_size`` is null and no training size is known


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Predictor:
    """Run a detector on lists of RGB uint8 images of any size; boxes come back in original image pixels.

    ``settings`` (:class:`detector.config.PredictConfig`, the config's ``predict`` section; None: its defaults) gives
    the thresholds (``conf``, ``iou``, ``max_det``, ``multi_label``), the network input long side ``img_size`` (pixels,
    multiple of 32; null: 640 -- tools resolve it to the training size with
    :func:`detector.config.predict_settings`), the letterbox (``rect`` pads each batch to the smallest multiple-of-32
    rectangle, faster on non-square images; ``square`` pads to ``img_size x img_size``) and ``half`` (None: fp16 on
    CUDA, fp32 on the CPU). ``fuse=True`` folds BatchNorm into convs (see :func:`fuse_conv_bn`).
    ``channels_last`` (default) runs model and input in channels_last memory format, the faster one for these convs
    on GPUs and CPUs alike (``tools/benchmark.py detector`` times this same setting by default).
    ``cuda_graphs`` (None: on for CUDA) replays forward and decoding from a CUDA graph per input shape
    (:class:`~detector.engine.prediction.cuda_graph.GraphedDecode`): the same outputs, at batch 1 several times
    fewer host launches; the first call of each new shape records it (warm-up, ~3 eager calls).
    ``pointwise_gemm`` runs the 1x1 convolutions as matrix products with the bias in the epilogue
    (:mod:`detector.model.pointwise_gemm`; 2.5-3x faster per convolution on an H200 in bf16; opt-in until measured end
    to end).
    After each call ``self.timing`` holds ``{"pre", "infer", "post"}`` in milliseconds for that batch; ``infer``
    includes decoding and NMS (``model.predict``).

    ``model`` may also be a :class:`detector.runtime.Backend` (``detector.runtime.load_backend``: an ONNX file or an
    OpenVINO IR; a checkpoint backend runs as its model; ``settings`` None: the NMS settings stored with it): the
    same letterbox and NMS, on the CPU; an exported file's
    fixed input size replaces ``img_size`` (said in one warning when they differ) and the letterbox is ``square``
    to that size; ``half``, ``fuse``, ``channels_last``, CUDA graphs and ``pointwise_gemm`` are the file's business.
    """

    def __init__(
        self,
        model: Detector | Backend,
        settings: PredictConfig | None = None,
        *,
        device: str | torch.device = "auto",
        class_names: Sequence[str] | None = None,
        fuse: bool = False,
        channels_last: bool = True,
        cuda_graphs: bool | None = None,
        pointwise_gemm: bool = False,
    ):
        self.settings = settings if settings is not None else PredictConfig()
        img_size = self.settings.img_size or DEFAULT_IMG_SIZE
        if img_size % 32 or img_size <= 0:
            raise ValueError(
                f"predict.img_size must be a positive multiple of 32 (the model's largest stride), got {img_size}"
            )
        self.backend: Backend | None = None
        self.input_hw: tuple[int, int] | None = None  # an exported file's fixed input (H, W)
        if isinstance(model, Backend):
            names = class_names if class_names is not None else model.info.names
            if settings is None:  # the NMS settings stored with the model, at an exported file's size
                nms, hw = model.info.nms, model.info.input_hw
                self.settings = PredictConfig(
                    conf=nms.conf, iou=nms.iou, max_det=nms.max_det, multi_label=nms.multi_label,
                    img_size=max(hw) if hw else None,
                )  # fmt: skip
            if model.format == "pytorch":
                model = model.model  # type: ignore[attr-defined]  # TorchBackend: the Detector, all options apply
            else:
                self._init_backend(model, names)
                return
        assert isinstance(model, Detector)
        self.device = select_device(device)
        half = self.settings.half
        if half and self.device.type != "cuda":
            warnings.warn("half precision is only used on CUDA; running in fp32 on CPU", stacklevel=2)
        self.half = self.device.type == "cuda" if half is None else bool(half) and self.device.type == "cuda"
        self.img_size, self.rect = int(img_size), self.settings.letterbox == "rect"
        model = model.eval()
        if fuse:
            fuse_conv_bn(model)
        if pointwise_gemm:
            pointwise_convs_as_gemm(model)
        model = model.to(self.device)
        if self.half:
            model = model.half()
        self.channels_last = bool(channels_last)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        on_cuda = self.device.type == "cuda"
        if cuda_graphs and not on_cuda:
            warnings.warn("CUDA graphs need a CUDA device; running eagerly", stacklevel=2)
        graphs = on_cuda if cuda_graphs is None else bool(cuda_graphs) and on_cuda
        self.graphed = GraphedDecode(model) if graphs else None
        names = class_names if class_names is not None else model.class_names
        self.class_names = [str(n) for n in names]
        self.timing: dict[str, float] = {"pre": 0.0, "infer": 0.0, "post": 0.0}

    def _init_backend(self, backend: Backend, class_names: Sequence[str]) -> None:
        """Set up for an exported file: CPU, float32 input, letterbox to the file's input size."""
        self.backend, self.device, self.half, self.rect = backend, torch.device("cpu"), False, False
        self.input_hw = input_side(backend, self.settings.img_size)
        self.img_size = max(self.input_hw) if self.input_hw else int(self.settings.img_size or DEFAULT_IMG_SIZE)
        self.channels_last, self.graphed = False, None
        self.class_names = [str(n) for n in class_names]
        self.timing = {"pre": 0.0, "infer": 0.0, "post": 0.0}

    def with_settings(self, settings: PredictConfig) -> Predictor:
        """A predictor sharing this one's model (its device, precision and CUDA graphs) with other ``settings``:
        thresholds, ``img_size`` and ``letterbox`` (an exported file keeps its fixed input size). ``half`` is fixed
        when the model is placed: a different value is a ValueError."""
        if settings.half != self.settings.half:
            raise ValueError(
                f"predict.half={settings.half} differs from the loaded model's ({self.settings.half}): the precision "
                "is set when the model is loaded (pass predict.half=... there)"
            )
        if self.backend is not None:
            return Predictor(self.backend, settings, class_names=self.class_names)
        out = copy.copy(self)
        out.settings, out.timing = settings, dict(self.timing)
        out.img_size, out.rect = int(settings.img_size or DEFAULT_IMG_SIZE), settings.letterbox == "rect"
        return out

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
            shape = self.input_hw if self.backend is not None and self.input_hw else self.img_size
            out, p = letterbox(img, shape, auto=self.rect, stride=32)
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
        if self.backend is not None:
            preds = backend_predict(self.backend, x, self.settings, lb, sizes)
        else:
            preds = self.model.predict(
                x,
                self.settings,
                lb_params=lb.to(self.device),
                orig_sizes=sizes.to(self.device),
                decode=self.graphed,
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
