"""Overrides that set one key twice are warned about; an empty path where one is needed is an error."""

import warnings

import pytest

from detector.config import ConfigError, load_config
from tests.helpers import DEFAULTS


def _load(*overrides):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = load_config(DEFAULTS, list(overrides))
    return cfg, [str(w.message) for w in caught]


def test_a_key_given_twice_names_the_values_and_the_one_used():
    cfg, messages = _load("train.epochs=1", "train.lr=0.02", "train.epochs=2")
    assert cfg.train.epochs == 2 and cfg.train.lr == 0.02
    assert messages == [
        "command-line override 'train.epochs' is given 2 times (train.epochs=1, train.epochs=2); "
        "the last one is used: train.epochs=2"
    ]


def test_a_section_and_a_key_in_it():
    cfg, messages = _load("train={epochs: 1, batch_size: 4}", "train.epochs=3")
    assert (cfg.train.epochs, cfg.train.batch_size) == (3, 4)
    assert messages == [
        "command-line override 'train.epochs' is given 2 times (1 (from 'train={epochs: 1, batch_size: 4}'), "
        "train.epochs=3); the last one is used: train.epochs=3"
    ]
    cfg, messages = _load("train.epochs=5", "train={batch_size: 4}")  # the mapping sets only the keys it names
    assert (cfg.train.epochs, cfg.train.batch_size) == (5, 4)
    assert messages == []


def test_a_mapping_for_a_section_keeps_the_files_other_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 20\n  lr: 0.02\ndata:\n  shapes: {root: s, num_train: 10}\n")
    cfg = load_config(path, ["train={batch_size: 4}", "train={}", "data.shapes={num_val: 3}"])
    assert (cfg.train.epochs, cfg.train.lr, cfg.train.batch_size) == (20, 0.02, 4)  # was reset to 300, 0.01
    assert cfg.data.shapes is not None and (cfg.data.shapes.root, cfg.data.shapes.num_train) == ("s", 10)
    assert cfg.data.shapes.num_val == 3
    assert load_config(path, ["data.shapes=null"]).data.shapes is None
    head = load_config(path, ["model.head={type: decoupled, reg_max: 8}"]).model.head  # another type: afresh
    assert (head.type, getattr(head, "reg_max", None)) == ("decoupled", 8)


def test_distinct_keys_are_quiet():
    _, messages = _load("train.epochs=1", "train.batch_size=2", "model.neck.depth=1", "model.backbone.depth_mult=0.5")
    assert messages == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.out_dir=", "key 'train.out_dir' is empty: set it to the run folder, e.g. train.out_dir=runs/train/exp"),
        ("train.out_dir=' '", "key 'train.out_dir' is empty"),
        ("data.shapes.root=", "key 'data.shapes.root' is empty: set it to the synthetic set's folder"),
        ("model.backbone.pretrained=", "key 'model.backbone.pretrained' is empty: use true (official weights)"),
    ],
)
def test_empty_required_paths_are_config_errors(override, message):
    with pytest.raises(ConfigError, match="^command-line override: " + message.replace("(", r"\(").replace(")", r"\)")):
        load_config(DEFAULTS, [override])


def test_empty_paths_that_mean_unset_stay_allowed(tmp_path):
    cfg, _ = _load("train.weights=", "data.val.ann=", "data.val.images=")
    assert cfg.train.weights == "" and cfg.data.val.ann == "" and cfg.data.val.images == ""
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  out_dir: ''\n")
    with pytest.raises(ConfigError, match=rf"^{path}: key 'train.out_dir' is empty"):
        load_config(path)


def test_train_tool_reports_an_empty_out_dir_in_one_line(tmp_path, capsys):
    from detector.cli.train import main

    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 1\n")
    assert main([str(path), "train.out_dir="]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: command-line override: key 'train.out_dir' is empty: set it to the run folder, "
        "e.g. train.out_dir=runs/train/exp"
    )
