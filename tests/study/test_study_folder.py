"""The study folder: a changed config is an error naming the keys; run states from the files a run left."""

from __future__ import annotations

import copy

import pytest
import torch
import yaml

from detector.config import Config, ConfigError
from detector.study.folder import (
    STUDY_CONFIG,
    RunInfo,
    RunState,
    check_study_folder,
    run_state,
    store_study_config,
    write_json,
)
from detector.study.runs import check_run_config

IDENTITY = {
    "shared": {"train": {"epochs": 2, "lr": 0.01}, "data": {"img_size": 64}},
    "backbones": {"cspx": {"name": "cspresnext50", "width_mult": 0.25}, "dark": {"name": "cspdarknet53"}},
}


def _stored(tmp_path):
    study = tmp_path / "study"
    store_study_config(study, check_study_folder(study, IDENTITY, (0,)))
    return study


def test_the_same_config_passes_and_new_backbones_and_seeds_extend_the_study(tmp_path):
    study = _stored(tmp_path)
    assert yaml.safe_load((study / STUDY_CONFIG).read_text()) == {**IDENTITY, "seeds": [0]}
    assert check_study_folder(study, IDENTITY, (0,)) == {**IDENTITY, "seeds": [0]}
    more = copy.deepcopy(IDENTITY)
    more["backbones"] = {"r18": {"name": "timm:resnet18"}}  # a subset plus a new one: allowed
    merged = check_study_folder(study, more, (1, 0))
    assert set(merged["backbones"]) == {"cspx", "dark", "r18"} and merged["seeds"] == [0, 1]


def test_a_changed_shared_key_is_an_error_naming_it(tmp_path):
    study = _stored(tmp_path)
    changed = copy.deepcopy(IDENTITY)
    changed["shared"]["train"]["epochs"] = 3
    changed["shared"]["data"]["augment"] = {"mosaic": 0.0}
    with pytest.raises(ConfigError) as info:
        check_study_folder(study, changed, (0,))
    msg = str(info.value)
    assert f"{study} was made with another study config: " in msg
    assert "data.augment.mosaic (stored absent, now 0.0); train.epochs (stored 2, now 3)." in msg
    assert "Give the study another name" in msg


def test_changed_backbone_settings_are_an_error_naming_them(tmp_path):
    study = _stored(tmp_path)
    changed = copy.deepcopy(IDENTITY)
    changed["backbones"]["cspx"]["width_mult"] = 0.5
    with pytest.raises(ConfigError, match=r"backbones\.cspx\.width_mult \(stored 0\.25, now 0\.5\)"):
        check_study_folder(study, changed, (0,))


def test_a_folder_with_other_files_is_not_taken_as_a_study(tmp_path):
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=f"{tmp_path / 'study'} holds files but no study_config.yaml"):
        check_study_folder(tmp_path / "study", IDENTITY, (0,))


def _fake_checkpoint(folder, epoch):
    (folder / "weights").mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "model": {}}, folder / "weights" / "last.pt")


def test_run_states_follow_the_files(tmp_path):
    assert run_state(tmp_path, "a", 0, epochs=2).state is RunState.NEW
    folder = tmp_path / "a" / "seed0"
    _fake_checkpoint(folder, 0)
    info = run_state(tmp_path, "a", 0, epochs=2)
    assert (info.state, info.epoch, info.folder, info.last) == (RunState.RESUME, 0, folder, folder / "weights/last.pt")
    _fake_checkpoint(folder, 1)  # the last epoch finished, the record was not written yet: done
    assert run_state(tmp_path, "a", 0, epochs=2).state is RunState.DONE
    other = tmp_path / "a" / "seed1"
    (other / "weights").mkdir(parents=True)
    (other / "weights" / "best.pt").write_bytes(b"x")
    write_json(other / "study_run.json", {"status": "done", "epochs": 2})
    assert run_state(tmp_path, "a", 1, epochs=2).state is RunState.DONE


def test_a_run_stopped_before_its_first_checkpoint_starts_again(tmp_path):
    folder = tmp_path / "a" / "seed0"
    (folder / "weights").mkdir(parents=True)
    for name in ("config.yaml", "results.csv", "train_batch0.jpg", "events.out.tfevents.1.host.2.0"):
        (folder / name).write_text("x")
    assert run_state(tmp_path, "a", 0, epochs=2).state is RunState.NEW
    assert not [p for p in folder.rglob("*") if p.is_file()]


def test_files_a_study_did_not_write_are_never_removed(tmp_path):
    folder = tmp_path / "a" / "seed0"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("x")
    (folder / "mine.txt").write_text("keep")
    with pytest.raises(ConfigError, match=r"holds files that are not a study run's .*mine\.txt.*move them away"):
        run_state(tmp_path, "a", 0, epochs=2)
    assert (folder / "mine.txt").read_text() == "keep" and (folder / "config.yaml").is_file()


def test_a_study_config_or_run_config_with_a_repeated_key_is_refused_naming_both_lines(tmp_path):
    study = _stored(tmp_path)
    path = study / STUDY_CONFIG
    path.write_text(path.read_text() + "seeds: [5]\n")  # the stored file already has seeds: a second one
    with pytest.raises(
        ValueError, match=rf"{STUDY_CONFIG}:\d+: key 'seeds' repeated \(first at .*{STUDY_CONFIG}:\d+\)"
    ):
        check_study_folder(study, IDENTITY, (0,))
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("train:\n  epochs: 1\ntrain:\n  epochs: 300\n")
    info = RunInfo("cspx", 0, run, RunState.DONE)
    with pytest.raises(ValueError, match=r"config\.yaml:3: key 'train' repeated \(first at .*config\.yaml:1\)"):
        check_run_config(info, Config())
