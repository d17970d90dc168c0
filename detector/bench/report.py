"""The suite's report: speed targets (issue 7: one H100, 640x640) checked against the measured figures, a COCO
epoch-time estimate derived from the measured training throughput, and the Markdown tables of docs/PERFORMANCE.md."""

from __future__ import annotations

from dataclasses import dataclass

COCO_TRAIN_IMAGES = 118_287


@dataclass
class TargetRow:
    """One speed target: the measured value (None = not measured), the bound and whether it is met (None = the
    target does not apply to this device, e.g. a CPU run, or nothing was measured)."""

    what: str
    measured: float | None
    unit: str
    op: str  # ">=" or "<="
    bound: float
    step: str | None  # suite step the figure comes from
    met: bool | None = None


def _ok(steps: dict, name: str) -> dict | None:
    r = steps.get(name)
    return r if r and "error" not in r else None


def _infer_steps(steps: dict) -> dict[str, dict]:
    return {k: r for k, r in steps.items() if k.startswith("infer_") and _ok(steps, k)}


def _train_steps(steps: dict) -> dict[str, dict]:
    return {k: r for k, r in steps.items() if k.startswith("train_") and _ok(steps, k)}


def _best(cands: list[tuple[float, str]], lowest: bool = False) -> tuple[float | None, str | None]:
    if not cands:
        return None, None
    value, step = (min if lowest else max)(cands)
    return value, step


def target_rows(result: dict) -> list[TargetRow]:
    """The issue-7 targets, each with its best measured figure from the suite ``result``."""
    steps = result["steps"]
    bb, bbc = _ok(steps, "backbone"), _ok(steps, "backbone_compile")
    rows = []
    for key, what in (("fwd", "inference"), ("train", "training step")):
        ratio = bb.get(f"ratio_{key}") if bb else None
        rows.append(TargetRow(f"backbone {what}, ours / timm (eager)", ratio, "x", ">=", 1.0, "backbone"))
        compiled = None
        if bbc and bb and bb.get("timm") and f"{key}_img_s" in bbc["ours"]:
            compiled = bbc["ours"][f"{key}_img_s"] / bb["timm"][f"{key}_img_s"]
        rows.append(
            TargetRow(
                f"backbone {what}, ours compiled / timm eager (goal)", compiled, "x", ">=", 1.2, "backbone_compile"
            )
        )
    infer = _infer_steps(steps)
    thr = [(r["throughput"]["without_nms"]["img_s"], k) for k, r in infer.items() if r["settings"]["dtype"] == "bf16"]
    value, step = _best(thr)
    rows.append(TargetRow("detector inference, batch 32, bf16, NMS excluded", value, "img/s", ">=", 800.0, step))
    lat = [(e["e2e"]["ms"], k) for k, r in infer.items() for e in r["latency"] if e["size"] == 640]
    value, step = _best(lat, lowest=True)
    rows.append(
        TargetRow("detector latency, batch 1, 640, end to end with NMS, best mode", value, "ms", "<=", 4.0, step)
    )
    rows.append(_half_vs_fp32(infer))
    train = {k: r["train"] for k, r in _train_steps(steps).items() if r["settings"]["dtype"] == "bf16"}
    real = [(t["real_data"]["img_s"], k) for k, t in train.items() if "real_data" in t]
    value, step = _best(real)
    rows.append(TargetRow("detector training step, batch 32, bf16, real loader", value, "img/s", ">=", 200.0, step))
    ratio = train[step]["real_vs_synthetic"] if step else None
    rows.append(TargetRow("  real loader / synthetic input", ratio, "x", ">=", 0.9, step))
    rows += _per_flop_rows(steps)
    gpu = result["env"]["device"].startswith("cuda")
    for row in rows:
        if gpu and row.measured is not None:
            row.met = row.measured >= row.bound if row.op == ">=" else row.measured <= row.bound
    return rows


def _half_vs_fp32(infer: dict[str, dict]) -> TargetRow:
    """The slowest eager half-precision path's batch-1 640 latency / fp32's (<= 1: no half path is slower)."""

    def e2e_640(r: dict) -> float | None:
        return next((e["e2e"]["ms"] for e in r["latency"] if e["size"] == 640), None)

    eager = {k: r for k, r in infer.items() if not r["settings"].get("cuda_graphs") and not r["settings"]["compile"]}
    fp32 = next((e2e_640(r) for r in eager.values() if r["settings"]["dtype"] == "fp32"), None)
    half = [(ms, k) for k, r in eager.items() if r["settings"]["dtype"] != "fp32" and (ms := e2e_640(r)) is not None]
    worst, step = _best(half)
    ratio = worst / fp32 if worst is not None and fp32 else None
    return TargetRow("batch-1 640 latency, slowest eager half path / fp32", ratio, "x", "<=", 1.0, step)


def _per_flop_rows(steps: dict) -> list[TargetRow]:
    """Ours / YOLOv8m effective TFLOP/s in inference and training (``peers`` step), target >= 0.9."""
    peers = (_ok(steps, "peers") or {}).get("peers", {})
    ratios = peers.get("yolov8m.yaml", {}).get("ours_per_flop_ratio", {})
    return [
        TargetRow(f"{what} work per GPU-second per FLOP, ours / YOLOv8m", ratios.get(kind), "x", ">=", 0.9, "peers")
        for kind, what in (("infer", "inference"), ("train", "training"))
    ]


def epoch_estimate(result: dict) -> dict | None:
    """COCO train2017 epoch time from the measured training-step rate (real loader if measured, else synthetic):
    ``{"img_s", "step", "source", "minutes_1gpu", "minutes_8gpu", "cores_per_gpu"}``. 8 GPUs assume linear DDP
    scaling and every GPU fed as well as here; ``cores_per_gpu`` is the loader workers one GPU needs at that rate
    (rate / per-worker loader images/s at the largest measured worker count). None without a training figure."""
    train = _train_steps(result["steps"])
    if not train:
        return None
    order = sorted(train, key=lambda k: (train[k]["settings"]["dtype"] != "bf16", k))
    step = order[0]
    t = train[step]["train"]
    source = "real loader" if "real_data" in t else "synthetic input"
    rate = t["real_data"]["img_s"] if "real_data" in t else t["synthetic"]["img_s"]
    est = {
        "img_s": rate,
        "step": step,
        "source": source,
        "minutes_1gpu": COCO_TRAIN_IMAGES / rate / 60,
        "minutes_8gpu": COCO_TRAIN_IMAGES / (8 * rate) / 60,
        "cores_per_gpu": None,
    }
    loader = _ok(result["steps"], "loader")
    if loader:
        last = max(loader["runs"], key=lambda r: r["workers"])
        est["cores_per_gpu"] = rate / last["images_per_s_per_worker"]
    return est


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "not measured"
    text = f"{v:.3f}" if unit == "x" else f"{v:.1f}" if v < 100 else f"{v:.0f}"
    return f"{text} {unit}".strip() if unit != "x" else f"{text}x"


def _targets_md(result: dict) -> list[str]:
    gpu = result["env"]["device"].startswith("cuda")
    lines = ["| target (one H100, 640x640) | measured | bound | met | from step |", "|---|---|---|---|---|"]
    for r in target_rows(result):
        met = {True: "yes", False: "**no**", None: "n/a" if not gpu else "-"}[r.met]
        bound = f"{r.op} {r.bound:g}{'x' if r.unit == 'x' else ' ' + r.unit}"
        lines.append(f"| {r.what} | {_fmt(r.measured, r.unit)} | {bound} | {met} | {r.step or '-'} |")
    if not gpu:
        lines.append("")
        lines.append("The targets are set for one H100; on this device they are reported, not judged.")
    return lines


def _backbone_md(steps: dict) -> list[str]:
    lines: list[str] = []
    for name in ("backbone", "backbone_compile"):
        r = _ok(steps, name)
        if not r:
            continue
        s = r["settings"]
        if not lines:
            lines += [
                "| step | model | batch | size | dtype | channels_last | compile | inference img/s | training img/s |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
        for model in ("ours", "timm"):
            m = r.get(model)
            if m:
                lines.append(
                    f"| {name} | {model} | {s['batch']} | {s['size']} | {s['dtype']} | {s['channels_last']} | "
                    f"{s['compile']} | {m['fwd_img_s']:.1f} | {_fmt(m.get('train_img_s'))} |"
                )
        if r.get("timm"):
            lines.append(
                f"| {name} | ratio ours/timm | | | | | | {r['ratio_fwd']:.3f}x | {_fmt(r.get('ratio_train'), 'x')} |"
            )
    return lines


def _mode(settings: dict) -> str:
    """``False`` (eager), the compile mode, ``CUDA graphs``; ``+ 1x1 as GEMM`` when that rewrite is on."""
    mode = str(settings["compile"] or ("CUDA graphs" if settings.get("cuda_graphs") else False))
    return mode + (" + 1x1 as GEMM" if settings.get("gemm_1x1") else "")


def _infer_md(steps: dict) -> list[str]:
    infer = _infer_steps(steps)
    if not infer:
        return []
    sizes = sorted({e["size"] for r in infer.values() for e in r["latency"]})
    head = "| step | dtype | compile / graphs | " + " | ".join(f"b1 {s} e2e ms | b1 {s} fwd ms" for s in sizes)
    head += " | batch img/s, NMS excluded | with NMS |"
    lines = [head, "|" + "---|" * (5 + 2 * len(sizes))]
    for k, r in infer.items():
        s, lat = r["settings"], {e["size"]: e for e in r["latency"]}
        cells = [f"{lat[z]['e2e']['ms']:.2f} | {lat[z]['forward']['ms']:.2f}" if z in lat else "- | -" for z in sizes]
        t = r["throughput"]
        lines.append(
            f"| {k} | {s['dtype']} | {_mode(s)} | "
            f"{' | '.join(cells)} | "
            f"{t['without_nms']['img_s']:.1f} (b{t['batch']}, {t['size']}) | {t['with_nms']['img_s']:.1f} |"
        )
    return lines


def _train_md(steps: dict) -> list[str]:
    train = _train_steps(steps)
    if not train:
        return []
    lines = [
        "| step | dtype | compile | batch | size | synthetic img/s | real loader img/s | workers | "
        "loader alone img/s | real/synthetic | peak GiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k, r in train.items():
        s, t = r["settings"], r["train"]
        rd = t.get("real_data", {})
        lines.append(
            f"| {k} | {s['dtype']} | {s['compile'] or False} | {t['batch']} | {t['size']} | "
            f"{t['synthetic']['img_s']:.1f} | {_fmt(rd.get('img_s'))} | {rd.get('workers', '-')} | "
            f"{_fmt(rd.get('loader_img_s'))} | {_fmt(t.get('real_vs_synthetic'), 'x')} | "
            f"{_fmt(t.get('peak_mem_gib'))} |"
        )
    return lines


def _profile_md(steps: dict) -> list[str]:
    r = _ok(steps, "profile")
    if not r:
        return []
    lines = [
        f"Batch {r['batch']} at {r['size']}, {r['dtype']} weights; per operator class, cuDNN default algorithms / "
        "with `cudnn.benchmark`:",
        "",
        "| class | convs | GFLOPs | ms | share | TFLOP/s | ms (benchmark) | TFLOP/s (benchmark) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base, tuned = r["default"], r["cudnn_benchmark"]
    for c, v in base["classes"].items():
        t = tuned["classes"].get(c, {})
        lines.append(
            f"| {c} | {v['count']} | {v['gflops']:.1f} | {v['ms']:.2f} | {v['share']:.0%} | {v['tflops']:.1f} | "
            f"{_fmt(t.get('ms'))} | {_fmt(t.get('tflops'))} |"
        )
    lines.append(f"| total | | | {base['total_ms']:.2f} | | | {tuned['total_ms']:.2f} | |")
    if r.get("top_kernels"):
        lines += ["", "| top CUDA kernels | ms per forward | calls |", "|---|---|---|"]
        lines += [f"| `{k['name'][:90]}` | {k['ms']:.2f} | {k['calls']} |" for k in r["top_kernels"]]
    return lines


def _ops_md(steps: dict) -> list[str]:
    r = _ok(steps, "ops")
    if not r:
        return []
    lines = [
        f"Batch {r['batch']}, input side S = {r['size']}, {r['dtype']}, ms per call (interleaved medians):",
        "",
        "| convolution | with bias | without bias | 1x1 as addmm + bias epilogue (max abs diff) | NCHW, with bias |",
        "|---|---|---|---|---|",
    ]
    for c in r["convs"]:
        gemm = f"{c['gemm']:.3f} ({c['gemm_max_abs_diff']:.3g})" if "gemm" in c else "-"
        lines.append(f"| {c['name']} | {c['bias']:.3f} | {c['no_bias']:.3f} | {gemm} | {c['nchw']:.3f} |")
    stem = ", ".join(f"{k.rsplit('_', 1)[1]}: {v:.3f}" for k, v in r["stem"].items())
    return [*lines, "", f"Stem 7x7/2 -> 64 by input channels (3 = the image; 4, 8 zero-padded): {stem} ms."]


def _peers_md(steps: dict) -> list[str]:
    r = _ok(steps, "peers")
    if not r or "peers" not in r:
        return [f"Not measured: {r['skipped']}"] if r and "skipped" in r else []
    ours = r["ours"]
    lines = [
        f"ultralytics {r['ultralytics']} `DetectionModel` from its YAML, random init, same harness, batch and size.",
        "",
        "| model | params | GFLOPs | inference img/s | TFLOP/s | training img/s | TFLOP/s | "
        "ours/peer per FLOP (inf, train) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if ours:
        tf = {k: ours["gflops"] * ours[f"{k}_img_s"] / 1e3 for k in ("infer", "train") if f"{k}_img_s" in ours}
        lines.append(
            f"| ours | | {ours['gflops']:.1f} | {ours['infer_img_s']:.0f} | {tf['infer']:.0f} | "
            f"{_fmt(ours.get('train_img_s'))} | {_fmt(tf.get('train'))} | |"
        )
    for name, p in r["peers"].items():
        q = p.get("ours_per_flop_ratio", {})
        lines.append(
            f"| {name} | {p['params'] / 1e6:.1f} M | {p['gflops']:.1f} | {p['infer']['img_s']:.0f} | "
            f"{p['infer_tflops']:.0f} | {_fmt(p.get('train', {}).get('img_s'))} | {_fmt(p.get('train_tflops'))} | "
            f"{_fmt(q.get('infer'), 'x')}, {_fmt(q.get('train'), 'x')} |"
        )
    return lines


def _loader_md(steps: dict) -> list[str]:
    r = _ok(steps, "loader")
    if not r:
        return []
    lines = ["| workers | images/s | images/s per worker |", "|---|---|---|"]
    for run in r["runs"]:
        lines.append(f"| {int(run['workers'])} | {run['images_per_s']:.1f} | {run['images_per_s_per_worker']:.1f} |")
    return lines


def render_markdown(result: dict) -> str:
    """The whole report: environment, targets, then one table per kind of measurement, epoch estimate, errors."""
    env, s, steps = result["env"], result["settings"], result["steps"]
    out = [
        f"# Benchmark suite: {env['device_name']} ({env['device']})",
        "",
        f"{env['date']}; torch {env['torch']}, CUDA {env['cuda']}, cuDNN {env['cudnn']}; {env['cpu_count']} CPU "
        f"cores; config `{s['config']}`; throughput/training batch {s['batch']} at {s['size']}x{s['size']}; "
        f"real-loader data: {result['data']}. Medians of {s['repeats']} timed runs of {s['iters']} calls after "
        f"{s['warmup']} warm-up calls; random weights.",
        "",
        "## Targets",
        "",
        *_targets_md(result),
    ]
    for title, lines in (
        ("Backbone: ours vs timm cspresnext50 (same weights, interleaved runs)", _backbone_md(steps)),
        ("Detector inference (BatchNorm folded, channels_last)", _infer_md(steps)),
        ("Detector training step (fwd + loss + bwd + clip + optimiser)", _train_md(steps)),
        ("Training data loader (mosaic + full augmentation)", _loader_md(steps)),
        ("Where the inference time goes", _profile_md(steps)),
        ("Operator micro-benchmarks", _ops_md(steps)),
        ("Peers (effective TFLOP/s = forward GFLOPs x images/s)", _peers_md(steps)),
    ):
        if lines:
            out += ["", f"## {title}", "", *lines]
    est = epoch_estimate(result)
    if est:
        head = f"{COCO_TRAIN_IMAGES:,} train2017 images at {est['img_s']:.1f} img/s ({est['step']}, {est['source']})"
        if env["device"].startswith("cuda"):
            cores = ""
            if est["cores_per_gpu"] is not None:
                cores = f"; one GPU needs about {est['cores_per_gpu']:.1f} loader workers (CPU cores) at this rate"
            text = (
                f"{head} per GPU: **{est['minutes_1gpu']:.1f} min per epoch on 1 GPU, {est['minutes_8gpu']:.1f} min "
                f"on 8** (assuming linear DDP scaling and every GPU fed as well as here{cores})."
            )
        else:
            text = f"{head}: {est['minutes_1gpu'] / 60:.1f} hours per epoch on this device."
        out += ["", "## COCO epoch time (estimate)", "", text]
    errors = {k: r["error"] for k, r in steps.items() if "error" in r}
    if errors:
        out += ["", "## Failed steps", ""] + [f"- `{k}`: {e}" for k, e in errors.items()]
    return "\n".join(out) + "\n"
