"""A tiny study end to end (2 tiny backbones x 1 seed, 2 epochs, 16 training images of 64 px): interrupted during
the second run and started again, it reuses the first run untouched and resumes only the second; its report repeats
tools/eval.py's numbers; a changed config is refused; the HTML report loads cleanly in headless Chromium."""

from __future__ import annotations

import html
import importlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from detector.config import ConfigError
from detector.engine.evaluation.evaluator import STAT_KEYS
from detector.engine.training.run_log import read_results
from detector.engine.training.trainer import train
from detector.model.checkpoint_io import load_checkpoint
from detector.study.study_job import StudyOptions, run_study
from detector.study.summary import METRICS
from tests.study.browser import chromium, load_page
from tests.study.study_builders import write_tiny_study

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # trains 2 tiny detectors for 2 epochs (about half a minute on 2 cores)


def load_tool(name: str):
    return importlib.import_module(f"detector.cli.{name}")


def _label(cfg) -> str:
    return Path(cfg.train.out_dir).parent.name


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Start the study, stop it (KeyboardInterrupt) after the first epoch of its second run, start it again."""
    root = tmp_path_factory.mktemp("study")
    spec = write_tiny_study(root, root / "shapes", epochs=2)
    out = root / "out"
    first_calls, second_calls = [], []

    def interrupted(cfg, *, resume=None, callbacks=()):
        first_calls.append((_label(cfg), resume))
        extra = []
        if len(first_calls) == 2:

            def stop(trainer, epoch):
                raise KeyboardInterrupt

            extra.append(stop)
        return train(cfg, resume=resume, callbacks=[*callbacks, *extra])

    with pytest.raises(KeyboardInterrupt):
        run_study(StudyOptions(spec=str(spec), out=str(out), train_fn=interrupted))
    study_dir = out / "tiny"
    best = study_dir / "cspx" / "seed0" / "weights" / "best.pt"
    before = {"bytes": best.read_bytes(), "mtime": best.stat().st_mtime_ns}
    stopped_at = load_checkpoint(study_dir / "cspdark" / "seed0" / "weights" / "last.pt")["epoch"]

    def recording(cfg, *, resume=None, callbacks=()):
        second_calls.append((_label(cfg), resume))
        return train(cfg, resume=resume, callbacks=callbacks)

    result = run_study(StudyOptions(spec=str(spec), out=str(out), train_fn=recording))
    return SimpleNamespace(
        spec=spec, out=out, dir=study_dir, result=result, first_calls=first_calls, second_calls=second_calls,
        best=best, before=before, stopped_at=stopped_at,
    )  # fmt: skip


def test_a_restarted_study_reuses_finished_runs_and_resumes_only_the_unfinished_one(study):
    assert study.first_calls == [("cspx", None), ("cspdark", None)] and study.stopped_at == 0
    last = study.dir / "cspdark" / "seed0" / "weights" / "last.pt"
    assert study.second_calls == [("cspdark", last)]  # the finished run is not trained again
    assert study.result.trained == [("cspdark", 0)]
    assert study.best.read_bytes() == study.before["bytes"] and study.best.stat().st_mtime_ns == study.before["mtime"]
    assert [r["epoch"] for r in read_results(study.dir / "cspdark" / "seed0" / "results.csv")] == [0, 1]
    assert load_checkpoint(last)["epoch"] == 1
    record = json.loads((study.dir / "cspdark" / "seed0" / "study_run.json").read_text())
    assert record["status"] == "done" and [s["from_epoch"] for s in record["segments"]] == [0, 1]
    assert record["images_per_epoch"] == 16 and record["epochs_logged"] == 2 and record["train_s"] > 0
    assert not (study.dir / "cspdark" / "seed02").exists() and not (study.dir / "cspx" / "seed02").exists()


def test_a_third_start_trains_and_evaluates_nothing(study, monkeypatch):
    stamps = {p: p.stat().st_mtime_ns for p in study.dir.glob("*/seed0/study_eval.json")}
    assert len(stamps) == 2
    monkeypatch.setattr("detector.study.run_eval.run_evaluation", lambda opts: pytest.fail("evaluated again"))
    result = run_study(StudyOptions(spec=str(study.spec), out=str(study.out), train_fn=lambda *a, **k: pytest.fail()))
    assert result.trained == [] and {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_the_report_repeats_tools_eval_to_the_last_digit(study, tmp_path):
    data = json.loads((study.dir / "study.json").read_text())
    md = (study.dir / "study.md").read_text()
    tool = load_tool("eval")
    for backbone in data["backbones"]:
        (run,) = backbone["runs"]
        folder = study.dir / backbone["label"] / "seed0"
        metrics_file = tmp_path / f"{backbone['label']}.json"
        argv = [str(folder / "config.yaml"), "--weights", str(folder / "weights" / "best.pt"),
                "--out", str(tmp_path / backbone["label"]), "--json", str(metrics_file), "--no-progress"]  # fmt: skip
        assert tool.main(argv) == 0
        metrics = json.loads(metrics_file.read_text())
        assert run["stats"] == {k: metrics[k] for k in STAT_KEYS}
        cells = " | ".join("-" if metrics[k] < 0 else f"{metrics[k]:.4f}" for k in METRICS)
        assert f"| {backbone['label']} | 0 | {cells} |" in md
        assert backbone["metrics"]["AP"]["values"] == [metrics["AP"]]


def test_the_report_has_every_part(study):
    md = (study.dir / "study.md").read_text()
    for part in ("## Results", "## Which differences are real", "## Error breakdown (dAP50, count)", "## Runs",
                 "![AP vs latency](report/ap_vs_latency.png)", "![Detections side by side](report/detections.png)",
                 "all from scratch", "cspx vs cspdark: AP", "not different: one seed"):  # fmt: skip
        assert part in md, part
    data = json.loads((study.dir / "study.json").read_text())
    for b in data["backbones"]:
        assert b["params"] > 0 and b["gflops"] > 0 and b["latency_ms"] > 0 and b["gpu_img_s"] is None
        assert b["backbone"]["width_mult"] == 0.0625 and b["train_s"]["mean"] > 0
    assert (study.dir / "cspx" / "cost.json").is_file() and (study.dir / "study_config.yaml").is_file()


def test_a_changed_config_for_the_existing_study_is_refused(study, capsys):
    with pytest.raises(ConfigError, match=r"was made with another study config: train\.epochs \(stored 2, now 3\)"):
        run_study(StudyOptions(spec=str(study.spec), out=str(study.out), overrides=["train.epochs=3"]))
    code = load_tool("study").main([str(study.spec), "--out", str(study.out), "model.neck.depth=2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "model.neck.depth (stored 1, now 2)" in err


def test_the_html_report_loads_in_a_browser_without_errors(study, tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the HTML report was not opened")
    page = load_page(study.dir / "study.html", tmp_path)
    assert page.console == []
    assert len(page.images) == 5 and all(complete and width > 0 for complete, width in page.images)
    table = page.dom.split('<table id="results">', 1)[1].split("</table>", 1)[0]
    rows = [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in table.split("<tr>")[2:]]
    data = json.loads((study.dir / "study.json").read_text())
    assert [r[0] for r in rows] == [b["label"] for b in data["backbones"]]
    for row, b in zip(rows, data["backbones"], strict=True):
        runs = b["latency_runs_ms"]  # the side-by-side pass: "median (min-max)"
        latency = f"{b['latency_ms']:.1f}" + (f" ({min(runs):.1f}-{max(runs):.1f})" if runs else "")
        assert row[4] == f"{b['metrics']['AP']['mean']:.4f}" and row[12] == latency


def test_the_browser_check_sees_console_errors_and_broken_images(tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><img src="data:image/png;base64,AAAA">'
        '<script>console.error("broken page")</script></body></html>'
    )
    page = load_page(bad, tmp_path)
    assert page.images == [(True, 0)] and len(page.console) == 1 and "broken page" in page.console[0]
