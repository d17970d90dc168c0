"""A detection run (``tools/detect.py``): load a checkpoint, read a source, predict every frame, write the outputs."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from detector.config import ConfigError, config_from_dict, predict_settings
from detector.device import select_device
from detector.engine.jobs.run_folder import next_free_folder
from detector.engine.jobs.track_run import TrackingRun, check_trackable, track_config
from detector.engine.prediction.checkpoint_io import load_detector
from detector.engine.prediction.outputs import (
    DetectionWriter,
    annotate,
    check_spares_source,
    display_available,
    show_frame,
    summary_text,
)
from detector.engine.prediction.predictor import Predictor
from detector.engine.prediction.sources import Source, SourceError

log = logging.getLogger(__name__)


class DetectError(ValueError):
    """A detection run cannot start; the message names the option and what to do."""


class NoImagesError(DetectError):
    """Every frame of the source was unreadable: nothing was detected."""


@dataclass
class DetectOptions:
    """Everything a detection run needs; the fields mirror ``tools/detect.py``'s options."""

    weights: str  # checkpoint written by the trainer or converted from darknet
    source: str  # image, folder, glob, video, webcam index or stream URL
    device: str = "auto"
    out: str = "runs/detect/exp"  # output folder (out2, out3, ... when it already holds files)
    exist_ok: bool = False  # write into ``out`` even if it holds files
    save: bool = True  # annotated images / videos
    save_txt: bool = False  # labels/<stem>.txt: label cx cy w h score (normalised)
    save_json: bool = False  # detections.json
    show: bool = False  # display window
    fuse: bool = True  # fold BatchNorm into convolutions
    # key=value applied to the checkpoint's config: the detection settings are its predict section (predict.conf,
    # predict.iou, predict.max_det, predict.img_size, predict.letterbox, predict.half; docs/CONFIG.md)
    overrides: list[str] = field(default_factory=list)
    track: bool = False  # follow objects across frames (ByteTrack; the track.* keys): tracks.json, tracks.txt
    count_line: str | None = None  # with track: "x1,y1,x2,y2" pixels, tracks crossing it counted per class


@dataclass
class DetectSummary:
    """What a run did: frames predicted and skipped, mean milliseconds per stage, wall-clock seconds, output folder."""

    out: Path
    done: int
    skipped: int
    total: int
    ms_per_image: dict[str, float]
    seconds: float
    img_size: int
    device: str
    interrupted: bool = False  # Ctrl-C stopped the run early; what was processed is saved


def _source_name(source: str) -> str:
    return f"webcam{source}" if source.isdigit() else Path(source.split("?")[0]).stem or "stream"


def check_options(opts: DetectOptions) -> None:
    """Raise :class:`DetectError` when a ``predict.*`` override is not a valid key or value (its range and choices,
    docs/CONFIG.md) or the device is unavailable; the message names the key or option. The other overrides are
    checked against the checkpoint's own config when it is loaded (a head family's keys depend on it)."""
    try:
        config_from_dict({}, "command line", [o for o in opts.overrides if o.strip().startswith("predict.")])
        select_device(opts.device)
    except ValueError as e:  # ConfigError is one
        raise DetectError(str(e)) from None


def build_predictor(opts: DetectOptions) -> Predictor:
    """Load ``opts.weights`` and wrap it for inference with the checkpoint config's ``predict`` section (after
    ``opts.overrides``; ``predict.img_size`` null: the size the model was trained at). Raises :class:`DetectError`
    for an unavailable device, a bad override (named, with its allowed values) or an unusable checkpoint."""
    check_options(opts)
    try:
        model, cfg, meta = load_detector(opts.weights, list(opts.overrides))
    except ConfigError as e:
        raise DetectError(str(e)) from None
    except (OSError, ValueError) as e:
        raise DetectError(f"--weights {opts.weights}: {e}") from None
    settings = predict_settings(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("default" if settings.half else "ignore")  # "fp32 on CPU" only when fp16 was asked for
        return Predictor(
            model,
            settings,
            device=opts.device,
            class_names=meta.get("class_names") or None,  # None: the model's own class_names
            fuse=opts.fuse,
        )


def run_detection(opts: DetectOptions) -> DetectSummary:
    """Detect on every frame of ``opts.source`` and write the outputs; one log line per frame.

    Unreadable images inside a folder/glob are skipped with a warning and counted. Raises :class:`SourceError` or
    :class:`DetectError` (bad options, no readable image at all, unusable weights); Ctrl-C stops early and keeps
    what was written (``summary.interrupted``).
    """
    check_options(opts)  # before the source is opened and the model loaded
    source = Source(opts.source)
    if opts.count_line is not None and not opts.track:
        raise DetectError("--count-line counts tracks: add --track")
    if opts.track:
        try:
            check_trackable(source, opts.source)
        except ValueError as e:
            raise DetectError(str(e)) from None
    predictor = build_predictor(opts)
    is_video = source.kind != "images"
    show = opts.show and display_available()
    if opts.show and not show:
        log.warning("--show ignored: no display found (DISPLAY/WAYLAND_DISPLAY unset)")
    out = next_free_folder(opts.out, opts.exist_ok)
    check_spares_source(out, source, _source_name(opts.source), opts.save)  # --out never replaces a --source file
    tracking = None
    if opts.track:
        try:
            tracking = TrackingRun(track_config(opts.weights, opts.overrides), predictor, source, out, opts.count_line)
        except ValueError as e:  # ConfigError, a bad --count-line, an output over a --source file
            raise DetectError(str(e)) from None
    writer = DetectionWriter(
        out, _source_name(opts.source), is_video, source.fps, opts.save, opts.save_txt, opts.save_json
    )
    totals = {"pre": 0.0, "infer": 0.0, "post": 0.0}
    done, skipped, total = 0, 0, len(source)
    interrupted = False
    t_start = time.perf_counter()
    try:
        for frame in source:
            tag = f"frame {frame.index + 1}/{total or '?'}" if is_video else f"image {frame.index + 1}/{total}"
            if frame.image is None:
                skipped += 1
                log.warning("%s skipped: %s", tag, frame.error)
                continue
            det = predictor([frame.image])[0]
            done += 1
            t = predictor.timing
            for k in totals:
                totals[k] += t[k]
            log.info(
                "%s %s: %s (pre %.1fms, infer %.1fms, post %.1fms)",
                tag, frame.path, summary_text(det), t["pre"], t["infer"], t["post"],
            )  # fmt: skip
            if tracking is not None:
                tracking.update(frame, det)
            vis = None
            if opts.save or show:
                vis = (
                    annotate(frame.image, det, predictor.class_names)
                    if tracking is None
                    else tracking.draw(frame.image)
                )
            writer.add(frame, det, vis)
            if show and vis is not None:
                show = show_frame(vis, frame.path)
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted; saving what was processed")
    finally:
        source.close()
        writer.close()
        if tracking is not None:
            tracking.close()
            log.info("tracking: %s", tracking.summary())
        if show:
            import cv2

            cv2.destroyAllWindows()
    if skipped:
        log.warning("skipped %d unreadable image(s) of %d", skipped, total)
    if done == 0 and not interrupted:
        raise NoImagesError(f"no readable image in --source {opts.source!r}")
    summary = DetectSummary(
        out=out,
        done=done,
        skipped=skipped,
        total=total,
        ms_per_image={k: v / max(done, 1) for k, v in totals.items()},
        seconds=time.perf_counter() - t_start,
        img_size=predictor.img_size,
        device=str(predictor.device),
        interrupted=interrupted,
    )
    per = summary.ms_per_image
    log.info(
        "Speed per image: pre %.1fms, infer %.1fms, post %.1fms at img-size %d on %s; %d image(s) in %.2fs (%.1f FPS)",
        per["pre"], per["infer"], per["post"], summary.img_size, summary.device, done, summary.seconds,
        done / max(summary.seconds, 1e-9),
    )  # fmt: skip
    log.info("Results saved to %s", out)
    return summary


__all__ = [
    "DetectError",
    "NoImagesError",
    "DetectOptions",
    "DetectSummary",
    "SourceError",
    "build_predictor",
    "check_options",
    "run_detection",
]
