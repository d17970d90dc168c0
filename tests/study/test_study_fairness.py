"""Fairness: every run's config is the shared one with only model.backbone (and the seed) replaced."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from detector.config import ConfigError, config_to_dict
from detector.study.fairness import check_fair, differing_keys, resolve, run_config, study_identity
from detector.study.spec import load_study_spec
from tests.study.study_builders import write_tiny_study

ROOT = Path(__file__).resolve().parents[2]


def _resolve(tmp_path, **kw):
    return resolve(load_study_spec(write_tiny_study(tmp_path, tmp_path / "shapes", **kw)))


def test_runs_differ_only_in_the_backbone_and_the_seed(tmp_path):
    backbones = [
        {"label": "cspx", "name": "cspresnext50", "width_mult": 0.0625, "depth_mult": 0.34},
        {"label": "dark", "name": "cspdarknet53"},
    ]
    r = _resolve(tmp_path, backbones=backbones, overrides={"train.epochs": 3, "model.neck.depth": 2})
    cspx, dark = (config_to_dict(r.backbones[k]) for k in ("cspx", "dark"))
    assert differing_keys(cspx, dark) == [
        "model.backbone.depth_mult",
        "model.backbone.name",
        "model.backbone.width_mult",
    ]
    # identity keys reset per entry: the base's 1/16 width does not leak into the entry that does not set it
    assert (dark["model"]["backbone"]["width_mult"], dark["model"]["backbone"]["depth_mult"]) == (1.0, 1.0)
    # shared keys come from the base and the shared overrides, for every backbone
    for c in (cspx, dark):
        assert c["train"]["epochs"] == 3 and c["model"]["neck"]["depth"] == 2 and c["data"]["img_size"] == 64
        assert c["model"]["backbone"]["pretrained"] is False  # inherited from the base (tiny_config)
    assert r.pretrained is False
    run = run_config(r.backbones["dark"], 7, "runs/x/seed7")
    assert differing_keys(config_to_dict(run), dark) == ["train.out_dir", "train.seed"]
    assert run.train.seed == 7 and r.backbones["dark"].train.seed == 0  # the backbone's config is not changed


@pytest.mark.parametrize(
    ("override", "owner"),
    [
        ("train.seed", "seeds"),
        ("train.out_dir", "the study folder"),
        ("train.resume", "it resumes unfinished runs"),
        ("train.weights", "a detector checkpoint fits one backbone only"),
        ("model.backbone.name", "each backbones entry"),
        ("model.backbone.width_mult", "each backbones entry"),
    ],
)
def test_shared_overrides_of_keys_the_study_sets_are_errors(tmp_path, override, owner):
    with pytest.raises(ConfigError, match=rf"overrides sets '{override}', which the study sets from .*{owner}"):
        _resolve(tmp_path, overrides={override: 1})


def test_a_shared_pretrained_override_applies_to_every_backbone(tmp_path):
    r = _resolve(tmp_path, overrides={"model.backbone.pretrained": True})
    assert r.pretrained is True and all(c.model.backbone.pretrained is True for c in r.backbones.values())


def test_an_unknown_shared_override_names_the_study_file_and_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"study\.yaml \(base base\.yaml \+ overrides\): .*'train\.epoch'.*"
                       r"did you mean 'train\.epochs'"):  # fmt: skip
        _resolve(tmp_path, overrides={"train.epoch": 3})


def test_a_bad_backbone_value_names_the_backbone(tmp_path):
    with pytest.raises(ConfigError, match=r"backbone 'cspx'.*model\.backbone\.width_mult' must be > 0"):
        _resolve(tmp_path, backbones=[{"label": "cspx", "name": "cspresnext50", "width_mult": -1}])


def test_mixed_pretrained_settings_are_an_error(tmp_path):
    backbones = [
        {"label": "a", "name": "cspresnext50", "pretrained": True},
        {"label": "b", "name": "cspdarknet53", "pretrained": "weights/cspdarknet53.pth"},
        {"label": "c", "name": "cspdarknet53", "pretrained": False},
    ]
    with pytest.raises(ConfigError, match=r"mixed pretrained settings: pretrained \['a', 'b'\], from scratch \['c'\]"):
        _resolve(tmp_path, backbones=backbones)
    r = _resolve(tmp_path, backbones=backbones[:2])  # ImageNet weights and a weights file: both pretrained
    assert r.pretrained is True


def test_check_fair_rejects_any_other_difference(tmp_path):
    r = _resolve(tmp_path)
    configs = {k: copy.deepcopy(v) for k, v in r.backbones.items()}
    assert check_fair(configs, "s") is False
    configs["cspdark"].model.neck.widths = [8, 16, 24]
    with pytest.raises(ConfigError, match=r"s: backbone 'cspdark' differs from 'cspx' in model\.neck\.widths; only "
                       r"model\.backbone\.\* may differ"):  # fmt: skip
        check_fair(configs, "s")


def test_a_base_config_that_fine_tunes_is_rejected(tmp_path):
    path = write_tiny_study(tmp_path, tmp_path / "shapes")
    base = tmp_path / "base.yaml"
    data = yaml.safe_load(base.read_text())
    data["train"]["weights"] = "some.pt"
    base.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"base\.yaml: sets train\.weights; a study trains every run itself"):
        resolve(load_study_spec(path))


def test_the_identity_leaves_out_what_differs_per_run(tmp_path):
    ident = study_identity(_resolve(tmp_path))
    assert set(ident) == {"shared", "backbones"} and set(ident["backbones"]) == {"cspx", "cspdark"}
    assert "backbone" not in ident["shared"]["model"]
    assert "seed" not in ident["shared"]["train"] and "out_dir" not in ident["shared"]["train"]
    assert ident["backbones"]["cspdark"]["name"] == "cspdarknet53"


@pytest.mark.parametrize(
    ("name", "pretrained", "count"), [("study_shapes.yaml", False, 4), ("study_coco.yaml", True, 5)]
)
def test_the_shipped_study_configs_are_fair(name, pretrained, count):
    spec = load_study_spec(ROOT / "configs" / name)
    r = resolve(spec)
    assert r.pretrained is pretrained and len(r.backbones) == count and len(spec.seeds) == 2
    assert len({c.train.epochs for c in r.backbones.values()}) == 1
