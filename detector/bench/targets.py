"""The suite's verdicts: speed targets (issue 7: one H100, 640x640) checked against the measured figures, and a
COCO epoch-time estimate derived from the measured training throughput. :mod:`detector.bench.render` prints them
in the suite report."""

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


def ok_step(steps: dict, name: str) -> dict | None:
    r = steps.get(name)
    return r if r and "error" not in r else None


def infer_steps(steps: dict) -> dict[str, dict]:
    return {k: r for k, r in steps.items() if k.startswith("infer_") and ok_step(steps, k)}


def train_steps(steps: dict) -> dict[str, dict]:
    return {k: r for k, r in steps.items() if k.startswith("train_") and ok_step(steps, k)}


def _best(cands: list[tuple[float, str]], lowest: bool = False) -> tuple[float | None, str | None]:
    if not cands:
        return None, None
    value, step = (min if lowest else max)(cands)
    return value, step


def target_rows(result: dict) -> list[TargetRow]:
    """The issue-7 targets, each with its best measured figure from the suite ``result``."""
    steps = result["steps"]
    bb, bbc = ok_step(steps, "backbone"), ok_step(steps, "backbone_compile")
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
    infer = infer_steps(steps)
    thr = [(r["throughput"]["without_nms"]["img_s"], k) for k, r in infer.items() if r["settings"]["dtype"] == "bf16"]
    value, step = _best(thr)
    rows.append(TargetRow("detector inference, batch 32, bf16, NMS excluded", value, "img/s", ">=", 800.0, step))
    lat = [(e["e2e"]["ms"], k) for k, r in infer.items() for e in r["latency"] if e["size"] == 640]
    value, step = _best(lat, lowest=True)
    rows.append(
        TargetRow("detector latency, batch 1, 640, end to end with NMS, best mode", value, "ms", "<=", 4.0, step)
    )
    rows.append(_half_vs_fp32(infer))
    train = {k: r["train"] for k, r in train_steps(steps).items() if r["settings"]["dtype"] == "bf16"}
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
    peers = (ok_step(steps, "peers") or {}).get("peers", {})
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
    train = train_steps(result["steps"])
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
    loader = ok_step(result["steps"], "loader")
    if loader:
        last = max(loader["runs"], key=lambda r: r["workers"])
        est["cores_per_gpu"] = rate / last["images_per_s_per_worker"]
    return est
