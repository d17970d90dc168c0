"""``detector.load(weights) -> Model``: a checkpoint or an exported file, ready to predict, evaluate and export.

The model runs through :mod:`detector.runtime` (one backend per format) and the engine's
:class:`~detector.engine.prediction.predictor.Predictor`; evaluation and export call the same library functions as
``tools/eval.py`` (:func:`detector.engine.jobs.evaluate.evaluate`) and ``tools/export.py``
(:func:`detector.engine.jobs.export.run_export`).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from detector.api.inputs import Images, predict_config, read_frames
from detector.api.results import Metrics, Result
from detector.config import Config, PredictConfig, config_from_dict, config_to_dict, load_config, predict_settings
from detector.engine.prediction.predictor import Predictor
from detector.runtime import Backend, load_backend
from detector.runtime.settings import exported_predict_settings

log = logging.getLogger(__name__)

_NOT_EXPORT_OPTIONS = ("weights", "format", "overrides")  # ExportOptions fields the Model fills in itself


def load(weights: str | Path, *overrides: str, device: str = "auto") -> Model:
    """Load ``weights``: a checkpoint written by training (``best.pt``, ``last.pt``) or converted from darknet, an
    ONNX file (``.onnx``) or an OpenVINO IR (a ``*_openvino/`` folder or its ``.xml``), all from ``tools/export.py``
    or :meth:`Model.export`.

    ``overrides``: ``key=value`` for the checkpoint's config, as on the command line (``"predict.conf=0.4"``); an
    exported file takes ``predict.*`` keys only (its model is fixed). ``device``: ``auto`` | ``cpu`` | ``cuda`` |
    ``cuda:N`` for a checkpoint; exported files run on the CPU. Raises FileNotFoundError (no such file),
    ValueError (not a checkpoint or export of this project, a bad override; the message names it),
    :class:`detector.runtime.RuntimeMissingError` (onnxruntime / openvino not installed: the install command).
    """
    if not Path(weights).exists():
        raise FileNotFoundError(f"weights {weights}: no such file or folder")
    backend = load_backend(weights, list(overrides))
    if backend.format == "pytorch":
        settings = predict_settings(backend.cfg)  # type: ignore[attr-defined]  # TorchBackend: the checkpoint config
        predictor = Predictor(backend, settings, device=device)
    else:
        if device not in ("auto", "cpu"):
            log.warning("device=%s: exported files run on the CPU (onnxruntime / OpenVINO)", device)
        settings = exported_predict_settings(backend.info, list(overrides), str(weights))
        predictor = Predictor(backend, settings)
    return Model(backend, predictor, Path(weights), overrides)


class Model:
    """A loaded detector (:func:`load`): :meth:`predict`, :meth:`evaluate`, :meth:`export`.

    ``names``: the class names (class id i -> ``names[i]``); ``format``: ``pytorch`` | ``onnx`` | ``openvino``;
    ``path``: the file it was loaded from; ``settings``: its default predict settings (the checkpoint config's
    ``predict`` section with ``img_size`` resolved to the training size, or the NMS settings stored in the file).
    """

    def __init__(self, backend: Backend, predictor: Predictor, path: Path, overrides: tuple[str, ...] = ()):
        self.backend, self._predictor, self.path, self.overrides = backend, predictor, path, tuple(overrides)

    @property
    def names(self) -> list[str]:
        return list(self._predictor.class_names)

    @property
    def format(self) -> str:
        return self.backend.format

    @property
    def device(self) -> str:
        return str(self._predictor.device)

    @property
    def settings(self) -> PredictConfig:
        return dataclasses.replace(self._predictor.settings)

    def __repr__(self) -> str:
        return f"Model({str(self.path)!r}, format={self.format!r}, classes={len(self.names)}, device={self.device!r})"

    def predict(self, source: Images, *, bgr: bool = True, **settings: Any) -> list[Result]:
        """Detect objects in ``source``; one :class:`Result` per image or video frame, in source order.

        ``source``: a path (an image, a folder of images, a glob such as ``"imgs/*.jpg"``, a video, a webcam index
        ``"0"`` or a stream URL), a numpy uint8 ``[H, W, 3]`` image in **BGR** order (``cv2.imread``'s; ``bgr=False``
        for RGB arrays), or a list of these. ``settings``: keys of the config's ``predict`` section for this call
        (``conf``, ``iou``, ``max_det``, ``multi_label``, ``img_size``, ``letterbox``), checked with the config's
        ranges: an unknown key is a ValueError naming the nearest one. A video is read whole into the list: use
        :meth:`predict_iter` to hold one frame at a time.
        """
        return list(self.predict_iter(source, bgr=bgr, **settings))

    def predict_iter(self, source: Images, *, bgr: bool = True, **settings: Any) -> Iterator[Result]:
        """:meth:`predict`, one :class:`Result` at a time (for long videos and streams). The settings are checked
        at the call, before any frame is read."""
        predictor = self._predictor_for(settings)
        return self._results(predictor, source, bgr)

    def _results(self, predictor: Predictor, source: Images, bgr: bool) -> Iterator[Result]:
        names = tuple(self.names)
        for frame in read_frames(source, bgr):
            det = predictor([frame.rgb])[0]
            yield Result(
                det["boxes_xyxy"].numpy(), det["scores"].numpy(), det["labels"].numpy(), names,
                frame.rgb[..., ::-1].copy(), frame.path, frame.index,
            )  # fmt: skip

    def track(self, source: Images, *overrides: str, bgr: bool = True) -> Iterator[Result]:
        """Follow objects across the frames of ``source`` with ByteTrack (``detector/track/``), as
        ``tools/detect.py --track`` does; yields one :class:`Result` per frame, its ``track_ids`` (int64 ``[N]``, from
        1) stable while an object stays tracked. ``source``: a video, stream, webcam index, one folder of frames whose
        names sort in order, or a list of arrays in order (BGR unless ``bgr=False``); a single image or a glob is a
        ValueError. ``overrides``: ``track.*`` keys (``"track.buffer=60"``; docs/TRACKING.md); the detector keeps
        boxes down to ``track.low_thresh``. Each call starts new tracks (IDs from 1)."""
        from detector.config import config_from_dict
        from detector.engine.jobs.track_run import check_trackable
        from detector.engine.prediction.sources import Source
        from detector.engine.prediction.tracking import Tracker
        from detector.track.bytetrack import check_track_config

        bad = [o for o in overrides if not o.strip().startswith("track.")]
        if bad:
            raise ValueError(f"Model.track takes track.* overrides only, got {bad}; predict settings go to load()")
        cfg = config_from_dict({}, "detector.Model.track", list(overrides)).track
        check_track_config(cfg)
        if isinstance(source, (str, Path)):
            opened = Source(str(source))
            try:
                check_trackable(opened, str(source))
            finally:
                opened.close()
        tracker = Tracker(self._predictor.with_settings(self._predictor.settings), cfg)  # its own thresholds
        return self._tracks(tracker, source, bgr)

    def _tracks(self, tracker: Any, source: Images, bgr: bool) -> Iterator[Result]:
        names = tuple(self.names)
        for frame in read_frames(source, bgr):
            t = tracker(frame.rgb, frame.index)
            yield Result(
                t.boxes_xyxy, t.scores, t.labels, names, frame.rgb[..., ::-1].copy(), frame.path, frame.index, t.ids
            )

    def _predictor_for(self, settings: dict[str, Any]) -> Predictor:
        new = predict_config(self._predictor.settings, settings)
        return self._predictor if new == self._predictor.settings else self._predictor.with_settings(new)

    def evaluate(
        self,
        config: str | Path | Config,
        *overrides: str,
        errors: bool = False,
        out: str | Path | None = None,
        exist_ok: bool = False,
        device: str | None = None,
        engine: str = "auto",
        progress: bool = False,
    ) -> Metrics:
        """COCO-evaluate the model on the val split (``data.val``) of ``config`` (a YAML path or a
        :class:`~detector.config.Config`), with its ``eval`` settings after ``overrides`` (``"eval.conf=0.01"``);
        the architecture is the model's own. Exactly what ``tools/eval.py CONFIG --weights PATH`` computes.

        ``errors``: also the TIDE-style error breakdown (``metrics.errors``). ``out``: also write ``metrics.json``,
        ``predictions.json`` and the PR plots into this folder (a folder holding files is kept and ``out2``, ...
        used unless ``exist_ok``), else nothing is written. ``device``: None: the one the model was loaded on
        (exported files: the CPU). ``engine``: ``auto`` | ``faster`` | ``pycocotools``. Raises ValueError for a bad
        config or override, a val split whose categories differ from the model's; see
        :func:`detector.engine.jobs.evaluate.run_evaluation`."""
        from detector.engine.jobs.evaluate import EvalOptions, evaluate, evaluate_and_write

        if isinstance(config, Config):
            path, cfg = None, config_from_dict(config_to_dict(config), "config", list(overrides))
        else:
            path, cfg = str(config), load_config(config, list(overrides))
        opts = EvalOptions(
            config=path, weights=str(self.path), overrides=list(overrides), exist_ok=exist_ok, engine=engine,
            device=device or (self.device if self.format == "pytorch" else "cpu"), progress=progress, errors=errors,
        )  # fmt: skip
        if out is None:
            ev, folder = evaluate(opts, cfg), None
        else:
            opts.out = str(out)
            ev, folder = evaluate_and_write(opts, cfg)
        return Metrics.from_result(ev.result, ev.errors, folder)

    def export(self, format: str = "onnx", **options: Any) -> Path:
        """Export the checkpoint to ``format`` (``onnx`` | ``torchscript`` | ``openvino``; ``int8=True`` with
        openvino quantises with NNCF and checks the AP on the val split) and return the file (an OpenVINO folder).

        ``options``: the fields of :class:`detector.engine.jobs.export.ExportOptions`, as ``tools/export.py``'s
        options: ``out`` (default: beside the weights, ``best.onnx`` / ``best_openvino/``), ``exist_ok``,
        ``img_size`` (an int or ``[H, W]``), ``opset``, ``raw``, ``dynamic_batch``, ``device``, ``fuse``, ``check``,
        ``calib_images``, ``max_ap_drop``. The ``overrides`` given to :func:`load` apply (``predict.*`` go into the
        file's metadata). Raises ValueError for an exported model, an unknown option (naming the nearest) or an
        output that exists (without ``exist_ok``); RuntimeError when the file does not reproduce the PyTorch
        outputs (it is kept: the message names it)."""
        from detector.engine.jobs.export import ExportOptions, run_export

        if self.format != "pytorch":
            raise ValueError(f"{self.path} is an exported {self.format} model: export from the checkpoint (.pt)")
        known = [f.name for f in dataclasses.fields(ExportOptions) if f.name not in _NOT_EXPORT_OPTIONS]
        for key in options:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"export option {key!r} is unknown{hint} (options: {', '.join(known)})")
        if isinstance(options.get("img_size"), int):
            options["img_size"] = [options["img_size"]]
        if options.get("out") is not None:
            options["out"] = str(options["out"])
        opts = ExportOptions(weights=str(self.path), format=format, overrides=list(self.overrides), **options)
        summary = run_export(opts)
        if not summary.ok:
            raise RuntimeError(
                f"{summary.out} does not reproduce the PyTorch outputs within tolerance (max abs diff "
                f"{summary.max_abs_diff:.3g}); the file is kept"
            )
        return summary.out
