"""The study file: every key checked, errors that name the file and the key, the command line's selection."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from detector.config import ConfigError
from detector.study.spec import CostSettings, load_study_spec, select


def write(tmp_path: Path, data: dict, base: bool = True) -> Path:
    if base:
        (tmp_path / "base.yaml").write_text("train: {epochs: 1}\n")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"base": "base.yaml", **data}, sort_keys=False))
    return path


def test_a_complete_file_reads_back(tmp_path):
    path = write(
        tmp_path,
        {
            "name": "cmp",
            "seeds": [3, 1],
            "overrides": {"train.epochs": 4, "data.img_size": 96, "model.neck.widths": [8, 16, 24]},
            "backbones": [
                {"name": "cspresnext50", "model.backbone.width_mult": 0.25, "depth_mult": 0.34},
                {"name": "timm:resnet18", "label": "r18"},
                "cspdarknet53",
            ],
            "cost": {"iters": 4, "gpu_dtype": "bf16"},
            "report": {"grid_images": 0},
        },
    )
    spec = load_study_spec(path)
    assert spec.name == "cmp" and spec.seeds == (3, 1) and spec.base == (tmp_path / "base.yaml").resolve()
    assert spec.overrides == ("train.epochs=4", "data.img_size=96", "model.neck.widths=[8, 16, 24]")
    assert [b.label for b in spec.backbones] == ["cspresnext50", "r18", "cspdarknet53"]
    assert spec.backbones[0].settings == {"name": "cspresnext50", "width_mult": 0.25, "depth_mult": 0.34}
    assert spec.backbones[1].settings == {"name": "timm:resnet18"}
    assert spec.cost == CostSettings(iters=4, gpu_dtype="bf16") and spec.report.grid_images == 0


def test_the_name_defaults_to_the_file_name_and_timm_labels_to_a_folder_name(tmp_path):
    spec = load_study_spec(write(tmp_path, {"backbones": [{"name": "timm:mobilenetv3_large_100"}]}))
    assert spec.name == "s" and spec.seeds == (0,)
    assert spec.backbones[0].label == "timm-mobilenetv3_large_100"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"backbone": []}, r"s\.yaml: unknown key 'backbone'; did you mean 'backbones'\?"),
        ({"backbones": [{"name": "cspdarknet53", "widht_mult": 0.5}]},
         r"unknown key 'backbones\[0\]\.widht_mult'; did you mean 'width_mult'\?"),
        ({"backbones": [{"width_mult": 0.5}]}, r"backbones\[0\] has no 'name'"),
        ({"seeds": [0, 0]}, r"'seeds' lists a seed twice"),
        ({"seeds": [-1]}, r"'seeds' holds -1; seeds are integers >= 0"),
        ({"seeds": []}, r"'seeds' must be a non-empty list"),
        ({"cost": {"iters": 0}}, r"key 'cost\.iters' must be >= 1, got 0"),
        ({"cost": {"repeats": "5"}}, r"key 'cost\.repeats' expects int, got '5'"),
        ({"cost": {"gpu_dtype": "int8"}}, r"key 'cost\.gpu_dtype' must be one of"),
        ({"report": {"score_thres": 2}}, r"key 'report\.score_thres' must be in \[0, 1\]"),
        ({"report": {"errors": "coco"}}, r"key 'report\.errors' must be one of \['paper', 'tidecv'\], got 'coco'"),
        ({"report": {"grid": 2}}, r"unknown key 'report\.grid'; did you mean 'grid_images'\?"),
        ({"name": "my study"}, r"'name' 'my study' must be a folder name"),
        ({"backbones": [{"name": "a b"}]}, r"backbones\[0\]\.label 'a b' must be a folder name"),
        ({"overrides": "train.epochs=3"}, r"'overrides' must be a mapping of dotted config keys"),
    ],
)  # fmt: skip
def test_bad_keys_and_values_name_the_file_and_the_key(tmp_path, data, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        load_study_spec(write(tmp_path, data))
    assert str(tmp_path / "s.yaml") in str(info.value)


@pytest.mark.parametrize("key", ["train.lr", "lr", "model.neck.widths", "neck", "data.img_size", "epochs"])
def test_a_per_backbone_override_outside_model_backbone_is_a_fairness_error(tmp_path, key):
    path = write(tmp_path, {"backbones": [{"name": "cspdarknet53", key: 1}]})
    with pytest.raises(ConfigError, match=rf"backbones\[0\] sets '{key}', which is not a model.backbone key: only "
                       r"model\.backbone\.\* may differ between the backbones of a study"):  # fmt: skip
        load_study_spec(path)


def test_duplicate_labels_are_an_error(tmp_path):
    path = write(tmp_path, {"backbones": [{"name": "cspdarknet53"}, {"name": "cspdarknet53", "width_mult": 0.5}]})
    with pytest.raises(ConfigError, match="two backbones have the label 'cspdarknet53'; give one a 'label: ...'"):
        load_study_spec(path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="study file not found: .*nope.yaml"):
        load_study_spec(tmp_path / "nope.yaml")
    path = write(tmp_path, {"backbones": ["cspdarknet53"]}, base=False)
    with pytest.raises(ConfigError, match=r"base config 'base.yaml' not found"):
        load_study_spec(path)


def test_the_command_line_selects_labels_adds_names_and_replaces_seeds(tmp_path):
    spec = load_study_spec(
        write(tmp_path, {"backbones": [{"name": "cspresnext50", "label": "cspx", "width_mult": 0.25}, "cspdarknet53"]})
    )
    chosen = select(spec, ["cspx", "timm:resnet18"], [2, 5], ["train.epochs=2"], "other")
    assert [b.label for b in chosen.backbones] == ["cspx", "timm-resnet18"]
    assert chosen.backbones[0].settings["width_mult"] == 0.25 and chosen.backbones[1].settings == {
        "name": "timm:resnet18"
    }
    assert chosen.seeds == (2, 5) and chosen.overrides == ("train.epochs=2",) and chosen.name == "other"
    assert select(spec).backbones == spec.backbones
    assert spec.report.errors == "paper" and select(spec, errors="tidecv").report.errors == "tidecv"
    assert select(spec, errors="tidecv").report.grid_images == spec.report.grid_images
    with pytest.raises(ConfigError, match="--seeds"):
        select(spec, seeds=[1, 1])
    with pytest.raises(ConfigError, match="no backbones"):
        select(load_study_spec(write(tmp_path, {})))
