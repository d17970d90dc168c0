"""Resume continues its own run: resume equivalence (2 epochs in one go == 1 epoch, simulated kill, resume to 2;
CPU, tiny model and data), and the rules checked before a resume writes anything (docs/TRAINING.md, "Resume"): the
run folder is the checkpoint's, a config that differs from the run's is refused naming each key (old -> new) except
the keys a resume may change, a finished run says so, an older best.pt is not resumed over a later last.pt.

The rule tests use a run folder written by hand (a training checkpoint of a stand-in model): no training, fast."""

import csv
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from detector.cli.train import main as train_main
from detector.config import ConfigError, config_to_dict, load_config, save_config
from detector.engine.training.checkpoint import atomic_save, build_checkpoint
from detector.engine.training.resume import RESUME_MAY_CHANGE, ResumeError, plan_resume
from detector.engine.training.setup import resolve_run_paths
from detector.engine.training.trainer import train
from detector.model.checkpoint_io import load_checkpoint
from tests.helpers import TINY_MODELS, tiny_config


class _Killed(Exception):
    pass


def _kill_after_first_epoch(trainer, epoch):
    if epoch == 0:
        raise _Killed


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shapes")


@pytest.mark.slow  # trains the tiny detector for 2 epochs, twice
@pytest.mark.parametrize("head", ["yolov4", "decoupled"])
def test_resume_equals_uninterrupted_run(tmp_path, shapes_root, head):
    def cfg(name, **train_kw):
        model = TINY_MODELS[head]
        path = tiny_config(tmp_path / f"{name}.yaml", tmp_path / name, shapes_root, train=train_kw, model=model)
        return load_config(path)

    torch.manual_seed(0)
    straight = train(cfg("straight"))
    assert straight["epochs"] == 2

    with pytest.raises(_Killed):
        train(cfg("resumed"), callbacks=[_kill_after_first_epoch])
    first = load_checkpoint(tmp_path / "resumed" / "weights" / "last.pt", require_training_state=True)
    assert first["epoch"] == 0 and first["iteration"] == 2
    torch.manual_seed(123)  # the checkpoint's RNG state must win over whatever the process did since
    resumed = train(cfg("resumed", resume=True))

    a = load_checkpoint(straight["last"], require_training_state=True)
    b = load_checkpoint(resumed["last"], require_training_state=True)
    assert (a["epoch"], a["iteration"], a["ema_updates"]) == (b["epoch"], b["iteration"], b["ema_updates"]) == (1, 4, 2)
    for key in ("model", "model_raw"):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            torch.testing.assert_close(b[key][name], a[key][name], rtol=1e-6, atol=1e-6, msg=f"{key}.{name}")
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        torch.testing.assert_close(sb["momentum_buffer"], sa["momentum_buffer"], rtol=1e-6, atol=1e-6)
    assert a["best_fitness"] == pytest.approx(b["best_fitness"], abs=1e-9)
    with open(tmp_path / "resumed" / "results.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [0, 1]  # both epochs logged once


@pytest.mark.slow  # trains the tiny detector for 1 + 1 epochs
def test_resume_can_extend_the_schedule_and_keeps_its_run_folder(tmp_path, shapes_root, detector_log):
    run = tmp_path / "run"
    path = tiny_config(tmp_path / "c.yaml", run, shapes_root, train={"epochs": 1})
    train(load_config(path))
    assert load_config(run / "config.yaml").train.out_dir == str(run)
    before = _snapshot(run)
    with pytest.raises(ResumeError, match=rf"^run {run} finished at epoch 1/1; raise train.epochs to train on"):
        train(load_config(path, ["train.resume=true"]))
    other = tmp_path / "new"
    with pytest.raises(ResumeError, match=rf"train.out_dir: {run} -> {other}"):
        train(load_config(path, ["train.epochs=2", f"train.out_dir={other}"]), resume=run / "weights" / "last.pt")
    assert _snapshot(run) == before and not other.exists()  # refused before anything was written

    extended = train(load_config(path, ["train.resume=true", "train.epochs=2", "train.workers=0"]))
    assert extended["out_dir"] == str(run)
    ck = load_checkpoint(extended["last"], require_training_state=True)
    assert ck["epoch"] == 1 and ck["iteration"] == 4
    assert ck["config"]["train"]["epochs"] == 2 and ck["config"]["train"]["out_dir"] == str(run)
    assert load_config(run / "config.yaml").train.out_dir == str(run)
    assert "at epoch 2/2 (train.epochs: 1 -> 2)" in detector_log.text


# ---------------------------------------------------------------- the rules, on a run folder written by hand


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _write_run(run: Path, cfg_path: Path, *, epochs: int = 1, epoch: int = 0, best_epoch: int | None = None) -> Path:
    """A run folder as the trainer leaves it: ``config.yaml``, ``results.csv``, ``weights/last.pt`` (``epoch``: the
    last finished epoch, 0-based) and ``weights/best.pt`` (of ``best_epoch``, default ``epoch``); the checkpoints
    are training checkpoints of a stand-in model (the checks read them, they build no model)."""
    cfg = load_config(cfg_path, [f"train.epochs={epochs}", f"train.out_dir={run}"])
    (run / "weights").mkdir(parents=True)
    save_config(cfg, run / "config.yaml")
    (run / "results.csv").write_text("epoch\n" + "".join(f"{e}\n" for e in range(epoch + 1)))
    model = nn.Linear(2, 2)
    for name, at in (("last", epoch), ("best", epoch if best_epoch is None else best_epoch)):
        ckpt = build_checkpoint(
            model=model,
            ema_model=None,
            ema_updates=0,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            scaler=None,
            iteration=2 * (at + 1),
            epoch=at,
            best_fitness=0.5,
            config=config_to_dict(cfg),
            class_names=["a", "b"],
            cat_ids=[1, 2],
            num_classes=2,
        )
        atomic_save(ckpt, run / "weights" / f"{name}.pt")
    return run / "weights" / "last.pt"


@pytest.fixture
def old_run(tmp_path):
    """``(config file, run folder, last.pt)`` of a finished 1-epoch run on the shapes set under ``tmp_path/shapes``."""
    cfg = tiny_config(tmp_path / "c.yaml", tmp_path / "runs" / "old", tmp_path / "shapes")
    run = tmp_path / "runs" / "old"
    return cfg, run, _write_run(run, cfg)


def test_the_issue_case_is_refused_naming_each_key_and_nothing_is_written(tmp_path, old_run, capsys):
    """OLD, a finished 1-epoch run; resumed from its best.pt on other data into another out_dir: exit 2, the
    conflicting keys named old -> new with what to do, OLD's files untouched, NEW not created."""
    cfg, run, _ = old_run
    before = _snapshot(run)
    new = tmp_path / "runs" / "new"
    argv = [str(cfg), "data.train.ann=other/train.json", "data.train.images=other/images", "train.epochs=4"]
    assert train_main([*argv, f"train.out_dir={new}", "--resume", str(run / "weights" / "best.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot resume {run / 'weights' / 'best.pt'} with another config: ")
    assert f"train.out_dir: {run} -> {new}" in err
    shapes = tmp_path / "shapes"
    assert f"data.train.ann: '{shapes}/train.json' -> 'other/train.json'" in err
    assert f"data.train.images: '{shapes}/train/images' -> 'other/images'" in err
    assert "train.epochs" not in err.split("(only")[0]  # raising epochs is allowed, so not a conflict
    assert f"resume with the run's own config (tools/train.py {run / 'config.yaml'} --resume " in err
    assert err.endswith(f"or start a new run from these weights with train.weights={run / 'weights' / 'best.pt'}")
    assert len(err.splitlines()) == 1
    assert _snapshot(run) == before and not new.exists() and not shapes.exists()


@pytest.mark.parametrize(
    ("override", "conflict"),
    [
        ("model.neck.depth=2", "model.neck.depth: 1 -> 2"),
        ("model.head.type=decoupled", "model.head.type: 'yolov4' -> 'decoupled'"),
        ("data.img_size=128", "data.img_size: 64 -> 128"),
        ("train.lr=0.02", "train.lr: 0.01 -> 0.02"),
        ("train.batch_size=4", "train.batch_size: 8 -> 4"),
        ("eval.iou=0.5", "eval.iou: 0.65 -> 0.5"),
    ],
)
def test_a_model_data_or_recipe_change_is_refused(old_run, override, conflict):
    cfg, run, last = old_run
    with pytest.raises(ResumeError, match="^cannot resume .* with another config: " + conflict.replace(".", r"\.")):
        plan_resume(load_config(cfg, ["train.epochs=2", override]), last, run)


def test_the_keys_a_resume_may_change_are_taken_and_the_run_keeps_its_config(tmp_path, old_run):
    cfg, run, last = old_run
    given = load_config(cfg, ["train.epochs=3", "train.workers=2", "train.device=cpu", "train.save_batches=0"])
    plan = plan_resume(given, last, run)
    assert plan.changed == ["train.epochs: 1 -> 3", "train.save_batches: 1 -> 0", "train.workers: 0 -> 2"]
    assert (plan.config.train.epochs, plan.config.train.workers, plan.config.train.out_dir) == (3, 2, str(run))
    assert plan.run_dir == run and plan.checkpoint["epoch"] == 0
    assert set(RESUME_MAY_CHANGE) >= {"train.epochs", "train.device", "train.workers"}
    # the run's folder spelled another way, and the folder a fresh run asked for 'runs/old' was numbered into
    spelled = str(run.parent / "." / "x" / ".." / "old")
    assert plan_resume(load_config(cfg, ["train.epochs=2", f"train.out_dir={spelled}"]), last, run).changed
    numbered = tmp_path / "runs" / "old2"
    shutil.copytree(run, numbered)
    numbered_plan = plan_resume(load_config(cfg, ["train.epochs=2"]), numbered / "weights" / "last.pt", numbered)
    assert numbered_plan.config.train.out_dir == str(numbered)  # its stored out_dir named runs/old: now its own
    tenth = tmp_path / "runs" / "old10"
    shutil.copytree(run, tenth)
    assert plan_resume(load_config(cfg, ["train.epochs=2"]), tenth / "weights" / "last.pt", tenth)
    with pytest.raises(ResumeError, match=rf"train.out_dir: {numbered} -> {tmp_path / 'runs' / 'old3'}"):
        plan_resume(
            load_config(cfg, ["train.epochs=2", f"train.out_dir={tmp_path / 'runs' / 'old3'}"]),
            numbered / "weights" / "last.pt",
            numbered,
        )


def test_a_finished_run_says_so_unless_epochs_is_raised(tmp_path, old_run):
    cfg, run, last = old_run
    with pytest.raises(ResumeError) as caught:
        plan_resume(load_config(cfg, ["train.epochs=1"]), last, run)
    assert str(caught.value) == (
        f"run {run} finished at epoch 1/1; raise train.epochs to train on (e.g. train.epochs=2), or start a new run "
        f"from these weights with train.weights={last}"
    )
    half = tmp_path / "half"
    half_last = _write_run(half, cfg, epochs=5, epoch=2)  # 3 of 5 epochs done
    with pytest.raises(ResumeError, match=rf"^run {half} is at epoch 3/5; train.epochs=2 would end before that"):
        plan_resume(load_config(cfg, ["train.epochs=2", f"train.out_dir={half}"]), half_last, half)
    assert plan_resume(load_config(cfg, ["train.epochs=5", f"train.out_dir={half}"]), half_last, half).changed == []


def test_best_pt_resumes_only_when_it_is_as_far_as_last_pt(tmp_path, old_run):
    cfg, run, _ = old_run
    plan = plan_resume(load_config(cfg, ["train.epochs=2"]), run / "weights" / "best.pt", run)  # best == last
    assert plan.checkpoint["epoch"] == 0 and plan.run_dir == run
    behind = tmp_path / "behind"
    _write_run(behind, cfg, epochs=5, epoch=3, best_epoch=1)
    best = behind / "weights" / "best.pt"
    with pytest.raises(ResumeError) as caught:
        plan_resume(load_config(cfg, ["train.epochs=5", f"train.out_dir={behind}"]), best, behind)
    assert str(caught.value) == (
        f"cannot resume {best}: it holds epoch 2 but the run's {behind / 'weights' / 'last.pt'} holds epoch 4; "
        f"resuming it would overwrite epochs 3..4 (last.pt, results.csv); resume from "
        f"{behind / 'weights' / 'last.pt'}, or start a new run from these weights with train.weights={best}"
    )


def test_a_checkpoint_outside_a_runs_weights_folder_belongs_to_no_run(tmp_path, old_run):
    _, run, last = old_run
    loose = tmp_path / "copy.pt"
    shutil.copy(last, loose)
    with pytest.raises(ResumeError, match=rf"^cannot resume {loose}: it is not in a run's weights/ folder.*"):
        resolve_run_paths(str(run), loose, False)
    assert issubclass(ResumeError, ConfigError)  # rejected before work: exit status 2


def test_the_stored_config_yaml_keeps_its_out_dir_and_loads_strictly(old_run):
    _, run, _ = old_run
    stored = yaml.safe_load((run / "config.yaml").read_text())
    assert stored["train"]["out_dir"] == str(run)
    assert load_config(run / "config.yaml").train.out_dir == str(run)


def test_the_docs_list_every_key_a_resume_may_change():
    root = Path(__file__).resolve().parents[2]
    training, cli = (root / "docs" / "TRAINING.md").read_text(), (root / "docs" / "CLI.md").read_text()
    resume_rule = training[training.index("## Resume") :]
    cli_rule = cli[cli.index("## Resume") :]
    for key in RESUME_MAY_CHANGE:
        assert f"`{key}`" in resume_rule, key
        assert key == "train.resume" or f"`{key}`" in cli_rule, key
