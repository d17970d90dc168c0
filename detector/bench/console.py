"""Console text of one benchmark's result dict, as ``tools/benchmark.py`` prints it (``format_*``: environment,
backbone, detector, loader, evaluation). The suite's Markdown report of the same dicts is
:mod:`detector.bench.render`."""

from __future__ import annotations


def format_env(env: dict, settings: dict) -> str:
    """Device, versions, threads, then every setting as ``key=value``."""
    return "\n".join(
        [
            f"device: {env['device']} ({env['device_name']})  torch {env['torch']}  cuda {env['cuda']}  "
            f"threads {env['threads']}",
            "settings: " + "  ".join(f"{k}={v}" for k, v in settings.items()),
        ]
    )


def format_backbone(r: dict) -> str:
    """Parity, ms and images/s of ours and timm, and the ratios."""
    lines = [format_env(r["env"], r["settings"])]
    if r["max_abs_diff"] is not None:
        lines.append(f"parity (fp32, before timing): max |ours - timm| = {r['max_abs_diff']:.2e}")
    lines.append(f"{'model':<8}{'fwd ms':>10}{'fwd img/s':>12}{'train ms':>10}{'train img/s':>13}")
    for key in ("ours", "timm"):
        m = r.get(key)
        if m:
            lines.append(
                f"{key:<8}{m['fwd_ms']:>10.2f}{m['fwd_img_s']:>12.1f}"
                f"{m.get('train_ms', float('nan')):>10.2f}{m.get('train_img_s', float('nan')):>13.1f}"
            )
    if r.get("timm"):
        line = f"ratio ours/timm: forward {r['ratio_fwd']:.3f}"
        if "ratio_train" in r:
            line += f"  train step {r['ratio_train']:.3f}"
        lines.append(line)
    else:
        lines.append("timm not installed: no reference figures")
    return "\n".join(lines)


def _fmt_ms(d: dict) -> str:
    return f"{d['ms']:>9.2f} ms {d['img_s']:>9.1f} img/s"


def _model_form(fuse: bool, channels_last: bool) -> str:
    """One line saying whether this is the model form ``tools/detect.py`` runs (BatchNorm folded, channels_last)."""
    layout = "channels_last" if channels_last else "NCHW (contiguous)"
    form = f"BatchNorm {'folded into the convs' if fuse else 'separate'}, {layout}"
    if fuse and channels_last:
        return f"model form: {form} (what tools/detect.py runs; --no-fuse / --no-channels-last to change)"
    return f"model form: {form} (NOT what tools/detect.py runs: it folds BatchNorm and uses channels_last)"


def format_detector(r: dict) -> str:
    """Model size, batch-1 latency per size, throughput with/without NMS, training step."""
    lines = [format_env(r["env"], r["settings"])]
    s, m = r["settings"], r["model"]
    precision = "fp32 (no autocast)" if s["dtype"] == "fp32" else f"{s['dtype']} autocast"
    lines.append(
        f"precision: {precision}  channels_last={s['channels_last']}  compile={s['compile']}  "
        f"fuse={s['fuse']}  median of {s['repeats']} runs x {s['iters']} iters after {s['warmup']} warm-up"
    )
    lines.append(_model_form(s["fuse"], s["channels_last"]))
    if m["params"] is None:  # an exported file (tools/benchmark.py detector --weights best.onnx)
        lines.append(f"model: {s['weights']} ({m['format']}, {m['precision']}), {s['num_classes']} classes, CPU")
    else:
        lines.append(
            f"model: {m['params']:,} params, {m['gflops']:.2f} GFLOPs at {m['gflops_size']}x{m['gflops_size']} "
            f"(batch 1, multiply-add = 2 FLOPs), {s['num_classes']} classes, {s.get('weights') or 'random init'}"
        )
    lines.append("latency, batch 1: end-to-end = host uint8 -> device, /255, forward, decode, NMS")
    lines.append(f"{'size':>6}{'GFLOPs':>9}{'e2e ms':>10}{'e2e fps':>10}{'forward ms':>12}")
    for e in r["latency"]:
        lines.append(
            f"{e['size']:>6}{'-' if e['gflops'] is None else format(e['gflops'], '.2f'):>9}"
            f"{e['e2e']['ms']:>10.2f}{e['e2e']['img_s']:>10.1f}"
            f"{e['forward']['ms']:>12.2f}"
        )
    t = r["throughput"]
    lines.append(f"throughput, batch {t['batch']} at {t['size']}x{t['size']} (per batch, images/s):")
    lines.append(
        f"  with NMS     {_fmt_ms(t['with_nms'])}   ({t['dets_per_img']:.1f} detections/image at "
        f"conf {s['nms']['conf']})"
    )
    lines.append(f"  without NMS  {_fmt_ms(t['without_nms'])}   (NMS share {100 * t['nms_share']:.1f}%)")
    if t["dets_per_img"] < 1 and not s.get("weights"):
        lines.append("  note: random weights leave NMS almost no boxes; with trained weights NMS costs more")
    tr = r.get("train")
    if tr:
        lines.append(
            f"training step (fwd + loss + bwd + clip + optimizer), batch {tr['batch']} at {tr['size']}x{tr['size']}:"
        )
        mem = f"   (peak {tr['peak_mem_gib']:.2f} GiB)" if "peak_mem_gib" in tr else ""
        lines.append(f"  synthetic tensors  {_fmt_ms(tr['synthetic'])}{mem}")
        if "real_data" in tr:
            rd = tr["real_data"]
            lines.append(f"  real data loader   {_fmt_ms(rd)}   ({rd['workers']} workers, config augmentation)")
            lines.append(f"  loader alone       {rd['loader_ms']:>9.2f} ms {rd['loader_img_s']:>9.1f} img/s")
            verdict = "data loading is the bottleneck" if tr["data_bound"] else "compute-bound"
            lines.append(
                f"  ratio real/synthetic {tr['real_vs_synthetic']:.3f}, loader/synthetic "
                f"{tr['loader_vs_synthetic']:.3f}: {verdict}"
            )

    return "\n".join(lines)


def format_loader(r: dict) -> str:
    """Images/s per worker count."""
    lines = [format_env(r["env"], r["settings"])]
    lines.append(f"{'workers':>8}{'img/s':>10}{'img/s/worker':>14}{'seconds':>9}")
    for run in r["runs"]:
        lines.append(
            f"{int(run['workers']):>8}{run['images_per_s']:>10.1f}{run['images_per_s_per_worker']:>14.1f}"
            f"{run['seconds']:>9.2f}"
        )
    return "\n".join(lines)


def format_eval(r: dict) -> str:
    """Seconds per engine, the ratio to pycocotools, and whether the 12 stats equal pycocotools'."""
    s = r["settings"]
    lines = [
        f"COCO evaluation: {s['images']} images, {r['num_gt']} ground-truth boxes, {r['num_detections']} detections, "
        f"{s['num_classes']} categories (synthetic); median of {s['repeats']} runs (pycocotools: "
        f"{s['reference_repeats']})",
        f"{'engine':<24}{'seconds':>9}{'x pycocotools':>15}  stats",
    ]
    for name, sec in r["seconds"].items():
        ratio = r["speedup_vs_pycocotools"].get(name, 1.0)
        d = r["max_abs_stat_difference"][name]
        same = "reference" if name == "pycocotools" else ("identical" if r["identical_stats"][name] else "DIFFER")
        lines.append(f"{name:<24}{sec:>9.2f}{ratio:>15.2f}  {same}" + (f" (max |diff| {d:.1e})" if d else ""))
    lines.append("AP, AP50, AP75: " + ", ".join(f"{v:.4f}" for v in r["stats"][:3]))
    return "\n".join(lines)
