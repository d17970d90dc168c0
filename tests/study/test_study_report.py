"""Summary over seeds, the 'not different' rule, and the report files built from known records (no training)."""

from __future__ import annotations

import base64
import json
import re
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from detector.config import load_config
from detector.engine.evaluation.errors.breakdown import ERROR_TYPES
from detector.study.grid import detection_grid, pick_indices
from detector.study.report import StudyReport, write_report
from detector.study.summary import METRICS, Spread, compare, summarize
from tests.helpers import DEFAULTS

KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def eval_record(ap: float, aps: float = 0.1) -> dict:
    stats = dict.fromkeys(KEYS, 0.0)
    stats.update(AP=ap, AP50=ap + 0.2, AP75=ap + 0.05, APs=aps, APm=ap + 0.01, APl=-1.0)
    recall = np.linspace(0, 1, 101)
    return {
        "stats": stats,
        "pr": {"recall": recall.tolist(), "iou50": (1 - recall * ap).tolist(), "iou75": (1 - recall).tolist(),
               "mean": (1 - recall).tolist()},
        "errors": {"ap50": ap + 0.2, "dap": {t: 0.01 * (i + 1) for i, t in enumerate(ERROR_TYPES)},
                   "counts": {t: i for i, t in enumerate(ERROR_TYPES)}},
    }  # fmt: skip


def backbone(label: str, aps: list[float], latency: float = 12.5, aps_small: list[float] | None = None):
    runs = [
        {"seed": s, "train": {"train_s": 600.0 + 60 * s, "images_per_s": 40.0 + s,
                              "segments": [{"from_epoch": 0, "wall_s": 1.0, "loadavg": [0.5 + s, 1.25]}]},
         "eval": eval_record(ap, (aps_small or [0.1] * len(aps))[s])}
        for s, ap in enumerate(aps)
    ]  # fmt: skip
    cost = {"params": 2_290_000, "gflops": 0.97, "cpu": {"latency_ms": latency, "runs_ms": [latency, latency + 1]},
            "gpu": {"skipped": "no CUDA"}}  # fmt: skip
    return summarize(label, {"name": label, "width_mult": 0.25, "depth_mult": 0.34}, runs, cost)


def test_summary_means_ranges_and_undefined_sizes():
    s = backbone("a", [0.50, 0.54], aps_small=[-1.0, 0.3])
    ap = s.metrics["AP"]
    assert (ap.values, ap.mean, ap.min, ap.max) == ([0.50, 0.54], pytest.approx(0.52), 0.50, 0.54)
    assert ap.std == pytest.approx(0.02)
    assert s.metrics["APs"].mean == 0.3 and s.metrics["APs"].values == [-1.0, 0.3]  # -1: no small GT that seed
    assert s.metrics["APl"].mean is None  # no large GT at all
    assert s.train_s.mean == 630.0 and s.images_per_s.mean == 40.5 and s.seeds == [0, 1]
    assert s.dap["cls"] == pytest.approx(0.01) and s.counts["miss"] == 5
    assert s.pr["iou50"][100] == pytest.approx(1 - 0.52)  # mean of the seeds' curves


def test_only_backbones_whose_seed_ranges_do_not_overlap_are_called_different():
    a, b, c = backbone("a", [0.60, 0.62]), backbone("b", [0.55, 0.61]), backbone("c", [0.40, 0.45])
    by_pair = {(x.a, x.b): x for x in compare([c, b, a])}
    assert list(by_pair) == [("a", "b"), ("a", "c"), ("b", "c")]  # ranked by mean AP
    assert not by_pair["a", "b"].different and "inside the seed spread" in by_pair["a", "b"].reason
    assert by_pair["a", "b"].diff == pytest.approx(0.03)
    assert by_pair["a", "c"].different and by_pair["b", "c"].different
    one_seed = compare([backbone("x", [0.9]), backbone("y", [0.1])])
    assert not one_seed[0].different and "one seed" in one_seed[0].reason


def test_spread_of_nothing_is_undefined():
    assert Spread.of([-1.0, -1.0], undefined_below=0.0).mean is None and Spread.of([]).min is None


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("report")
    summaries = [backbone("cspx", [0.612345, 0.598765], 11.0), backbone("dark", [0.401, 0.402], 9.0)]
    r = StudyReport(
        name="unit",
        base="configs/shapes_tiny.yaml",
        shared=load_config(DEFAULTS),
        seeds=[0, 1],
        pretrained=False,
        summaries=summaries,
        comparisons=compare(summaries),
        gpu_note="No CUDA device here: the GPU batch-32 throughput was skipped.",
        eval_pattern="python tools/eval.py <run>/config.yaml --weights <run>/weights/best.pt",
        grid_images=0,
        score_thres=0.3,
    )
    return r, write_report(tmp_path, r)


def test_markdown_holds_the_numbers_and_says_what_is_not_different(report):
    r, paths = report
    md = paths["md"].read_text()
    cspx = r.summaries[0]
    row = next(line for line in md.splitlines() if line.startswith("| cspx | cspx (w0.25, d0.34) |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:7] == ["2.29", "0.97", f"{cspx.metrics['AP'].mean:.4f}", "0.5988-0.6123", "0.0068"]
    assert cells[7:12] == [f"{cspx.metrics[k].mean:.4f}" for k in ("AP50", "AP75", "APs", "APm")] + ["-"]
    assert cells[12:] == ["11.0 (11.0-12.0)", "10.50", "40.5"]  # latency: median (min-max) of the runs
    assert "| cspx | 0 | 0.6123 | 0.8123 | 0.6623 | 0.1000 | 0.6223 | - | 10.00 | 40.0 | 0.5 / 1.2 |" in md
    assert "| cspx | 1 | 0.5988 |" in md and "| 41.0 | 1.5 / 1.2 |" in md  # the machine's load at start / end
    assert "TIDE-style dAP by the TIDE paper's rules" in md
    assert (
        "cspx vs dark: AP +0.2041, different: AP ranges over seeds do not overlap (0.5988-0.6123 vs 0.4010-0.4020)"
        in md
    )
    assert "all from scratch" in md and "No CUDA device here" in md
    for name in ("ap_vs_latency", "ap_per_size", "pr_curves", "error_breakdown"):
        assert f"](report/{name}.png)" in md
        assert (paths["md"].parent / "report" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_is_one_self_contained_file(report):
    r, paths = report
    page = paths["html"].read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert re.search(r"<link[^>]+href=\"(?!data:)", page) is None  # nothing to fetch
    uris = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 4
    for uri in uris:
        img = cv2.imdecode(np.frombuffer(base64.b64decode(uri), np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape[0] > 100 and img.shape[1] > 100
    table = page.split('<table id="results">', 1)[1].split("</table>", 1)[0]
    assert f'<td class="num">{r.summaries[1].metrics["AP"].mean:.4f}</td>' in table


def test_json_keeps_every_number_unrounded(report):
    r, paths = report
    data = json.loads(paths["json"].read_text())
    assert data["backbones"][0]["metrics"]["AP"]["values"] == [0.612345, 0.598765]
    assert data["backbones"][0]["runs"][1]["stats"] == {k: r.summaries[0].runs[1]["stats"][k] for k in KEYS}
    assert [c["different"] for c in data["comparisons"]] == [True] and data["pretrained"] is False
    assert set(METRICS) <= set(data["backbones"][1]["metrics"])


def test_the_grid_draws_ground_truth_and_each_backbone(tmp_path):
    images = [np.full((60, 80, 3), 90, np.uint8), np.full((60, 80, 3), 160, np.uint8)]
    boxes = [np.array([[5, 5, 40, 30]], np.float32), np.zeros((0, 4), np.float32)]
    base = SimpleNamespace(load_item=lambda i: (images[i], boxes[i], np.zeros(len(boxes[i]), np.int64), 10 + i))
    dataset = SimpleNamespace(base=base, class_names=["circle", "square"], cat_ids=[1, 2], __len__=lambda: 2)
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps([{"image_id": 10, "category_id": 2, "bbox": [5, 5, 30, 20], "score": 0.9},
                                 {"image_id": 11, "category_id": 1, "bbox": [1, 1, 9, 9], "score": 0.1}]))  # fmt: skip
    assert pick_indices(2, 4) == [0, 1] and pick_indices(100, 3) == [0, 50, 99] and pick_indices(0, 3) == []
    png = detection_grid(dataset, [0, 1], [("a", preds), ("b", preds)], score_thres=0.3)
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[1] == round(2.6 * 3 * 100) and img.shape[0] == round((2.6 * 2 + 0.4) * 100)


def test_small_images_are_enlarged_with_their_boxes():
    from detector.study.grid import _enlarged

    img, boxes, labels, image_id, scale = _enlarged(np.zeros((64, 32, 3), np.uint8), np.array([[1, 2, 3, 4]]), [0], 7)
    assert scale == 4.0 and img.shape == (256, 128, 3) and boxes.tolist() == [[4, 8, 12, 16]] and image_id == 7
    assert _enlarged(np.zeros((300, 400, 3), np.uint8), np.zeros((0, 4)), [], 1)[4] == 1.0
