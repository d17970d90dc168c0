"""The suite's Markdown report (:func:`render_markdown`, ``suite.md``, the tables of docs/PERFORMANCE.md) built from
the benchmark result dicts, with the verdicts of :mod:`detector.bench.targets`. The console text of one benchmark is
:mod:`detector.bench.console`."""

from __future__ import annotations

from detector.bench.targets import COCO_TRAIN_IMAGES, epoch_estimate, infer_steps, ok_step, target_rows, train_steps


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
        r = ok_step(steps, name)
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
    infer = infer_steps(steps)
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
    train = train_steps(steps)
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
    r = ok_step(steps, "profile")
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
    r = ok_step(steps, "ops")
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
    r = ok_step(steps, "peers")
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
    r = ok_step(steps, "loader")
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
