"""A detection run (``tools/detect.py``): load a checkpoint, read a source, predict every frame, write the outputs."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from detector.config import Config, ConfigError, config_from_dict, predict_settings
from detector.config.tool_options import option
from detector.device import select_device
from detector.engine.interrupt import Terminated, sigterm_as_interrupt, sigterm_received
from detector.engine.jobs.track_run import TRACK_FILES, TrackingRun, check_trackable, track_config
from detector.engine.prediction.outputs import DetectionWriter, annotate, display_available, show_frame, summary_text
from detector.engine.prediction.predictor import Predictor
from detector.engine.prediction.sources import Source, SourceError
from detector.engine.run_folder import next_free_folder
from detector.job_files import JobFiles
from detector.model.checkpoint_io import load_detector
from detector.runtime.loader import is_exported, load_backend
from detector.runtime.settings import exported_predict_settings

log = logging.getLogger(__name__)


class DetectError(ValueError):
    """A detection run cannot start; the message names the option and what to do."""


class NoImagesError(RuntimeError):
    """Every frame of the source was unreadable: nothing was detected (the work ran and failed: exit status 1)."""


@dataclass
class DetectOptions:
    """Everything a detection run needs; each field is ``tools/detect.py``'s option of the same name
    (:mod:`detector.config.tool_options`). The detection settings are the checkpoint config's ``predict`` section: set
    them with ``overrides`` (the tool's ``--conf`` & co. are such overrides, detector/cli/tool_args.py CONFIG_FLAGS)."""

    weights: str = option(doc="checkpoint written by tools/train.py (last.pt / best.pt)")
    source: str = option(doc="image, folder, glob ('imgs/*.jpg'), video, webcam index or URL")
    device: str = option("auto", "auto | cpu | cuda | cuda:N")
    out: str = option("runs/detect/exp", "output folder (exp2, exp3... if it already has files)")
    exist_ok: bool = option(
        False, "write into --out even if it already has files, replacing same-named outputs (never a --source file)"
    )
    save_json: bool = option(False, "write OUT/detections.json (all images/frames)")
    save_txt: bool = option(False, "write OUT/labels/<name>.txt: label cx cy w h score (0-1)")
    save: bool = option(True, "do not write annotated images/videos", flag="--no-save", negate=True)
    show: bool = option(False, "display results in a window (when a display is available)")
    fuse: bool = option(
        True, "keep BatchNorm layers separate (default: fused into convs)", flag="--no-fuse", negate=True
    )
    track: bool = option(
        False,
        "follow objects across the frames of a video, stream, webcam or folder of frames (ByteTrack, the track.* "
        "keys): IDs and trails drawn, OUT/tracks.json and OUT/tracks.txt (MOTChallenge); docs/TRACKING.md",
    )
    count_line: str | None = option(
        None, "with --track: count tracks crossing this line (pixels), per class", metavar="X1,Y1,X2,Y2"
    )
    # key=value applied to the checkpoint's config: the detection settings are its predict section (predict.conf,
    # predict.iou, predict.max_det, predict.img_size, predict.letterbox, predict.half; docs/CONFIG.md)
    overrides: list[str] = option(
        [], "overrides of the checkpoint's config, e.g. predict.conf=0.4", positional=True, nargs="*",
        metavar="key=value",
    )  # fmt: skip


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
    interrupted: bool = False  # Ctrl-C or SIGTERM stopped the run early; what was processed is saved
    terminated: bool = False  # it was SIGTERM (the tool exits 143 instead of 130)


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
    return _load_predictor(opts)[0]


def _load_predictor(opts: DetectOptions) -> tuple[Predictor, int | None, Config | None]:
    """:func:`build_predictor`, the input side the checkpoint was trained at (None: it stores no config) and the
    checkpoint's config with the overrides (None for an exported file): read once, its track section included."""
    check_options(opts)
    if is_exported(opts.weights):
        return _exported_predictor(opts), None, None  # a file's fixed input size: the Predictor says when it differs
    try:
        model, cfg, meta = load_detector(opts.weights, list(opts.overrides))
    except ConfigError as e:
        raise DetectError(str(e)) from None
    except (OSError, ValueError) as e:
        raise DetectError(f"--weights {opts.weights}: {e}") from None
    settings = predict_settings(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("default" if settings.half else "ignore")  # "fp32 on CPU" only when fp16 was asked for
        predictor = Predictor(
            model,
            settings,
            device=opts.device,
            class_names=meta.get("class_names") or None,  # None: the model's own class_names
            fuse=opts.fuse,
        )
    return predictor, (cfg.data.img_size if meta["train_data"] is not None else None), cfg


def plan_files(opts: DetectOptions, source: Source) -> Path:
    """Check the run's files before the model is loaded (:class:`JobFiles`): ``--weights`` and the source (its
    folder, or the file) are never written; the output folder (``opts.out``, or the first free ``out2``, ...
    unless ``exist_ok``) is not an input, not inside the source folder, not under a file, writable, and none of
    the files it gets (annotated images by their names, ``<name>.mp4``, ``labels/``, ``detections.json``) is an
    input. Returns the output folder."""
    files = JobFiles(exist_ok=opts.exist_ok)
    files.read("--weights", opts.weights)  # a file, or an OpenVINO folder
    name = _source_name(opts.source)
    if source.kind == "images":
        files.read("--source", source.root if source.root is not None else source.paths[0])
        images = [source.name_of(p) for p in source.paths]
        names = [*images, *(f"labels/{Path(n).with_suffix('.txt').as_posix()}" for n in images)]
    else:
        files.read("--source", opts.source if source.kind == "video" else None)
        names = [f"{name}.mp4"]
    if opts.track:
        names += list(TRACK_FILES)
    out = next_free_folder(opts.out, opts.exist_ok, "--out")
    files.write_folder("--out", out, names=[*names, "detections.json"])
    files.check()
    return out


def _exported_predictor(opts: DetectOptions) -> Predictor:
    """A Predictor over an ONNX file or OpenVINO IR (detector.runtime): NMS settings from the file, ``predict.*``
    overrides on top; the CPU only."""
    if select_device(opts.device).type != "cpu":
        log.warning("--device %s: exported files run on the CPU (onnxruntime / OpenVINO)", opts.device)
    try:
        backend = load_backend(opts.weights)
        predict = [o for o in opts.overrides if not o.strip().startswith("track.")]  # track.*: the tracker's keys
        settings = exported_predict_settings(backend.info, predict, opts.weights)
    except ConfigError as e:
        raise DetectError(str(e)) from None
    except (OSError, ValueError) as e:
        raise DetectError(str(e) if str(e).startswith("--weights") else f"--weights {opts.weights}: {e}") from None
    return Predictor(backend, settings)


def run_detection(opts: DetectOptions) -> DetectSummary:
    """Detect on every frame of ``opts.source`` and write the outputs; one log line per frame.

    Unreadable images inside a folder/glob are skipped with a warning and counted. Raises :class:`SourceError` or
    :class:`DetectError` (bad options, no readable image at all, unusable weights); Ctrl-C or SIGTERM stops early
    and keeps what was written, the video finalised (``summary.interrupted``, ``summary.terminated``).
    """
    check_options(opts)  # before the source is opened and the model loaded
    source = Source(opts.source)
    if opts.count_line is not None and not opts.track:
        raise DetectError("--count-line counts tracks: add --track")
    if opts.track:
        try:
            check_trackable(source, opts.source)
        except ValueError as e:
            source.close()
            raise DetectError(str(e)) from None
    try:
        out = plan_files(opts, source)
    except BaseException:
        source.close()
        raise
    predictor, trained, loaded = _load_predictor(opts)
    is_video = source.kind != "images"
    show = opts.show and display_available()
    if opts.show and not show:
        log.warning("--show ignored: no display found (DISPLAY/WAYLAND_DISPLAY unset)")
    if trained is not None and predictor.img_size != trained:
        log.warning("detecting at %d px, but %s was trained at %d px", predictor.img_size, opts.weights, trained)
    tracking = None
    if opts.track:
        try:
            track = track_config(opts.weights, opts.overrides, loaded)
            tracking = TrackingRun(track, predictor, source, out, opts.count_line)
        except ValueError as e:  # ConfigError, a bad --count-line, an output over a --source file
            source.close()
            raise DetectError(str(e)) from None
    writer = DetectionWriter(
        out, _source_name(opts.source), is_video, source.fps, opts.save, opts.save_txt, opts.save_json
    )
    totals = {"pre": 0.0, "infer": 0.0, "post": 0.0}
    done, skipped, total = 0, 0, len(source)
    interrupted = terminated = False
    t_start = time.perf_counter()
    try:
        with sigterm_as_interrupt():  # SIGTERM stops like Ctrl-C: the video is finalised, not cut off
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
    except KeyboardInterrupt as e:
        interrupted, terminated = True, isinstance(e, Terminated) or sigterm_received()
        log.warning("%s; saving what was processed", "stopped by SIGTERM" if terminated else "interrupted")
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
        terminated=terminated,
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
    "plan_files",
    "run_detection",
]
