"""Config YAML errors: a key repeated in a file names both lines, an empty file says so, a section given a value is
an error, a syntax error is one line; the generated configs/defaults.yaml passes the same strict reading."""

import pytest

from detector.config import ConfigError, load_config
from detector.config.docs import defaults_yaml
from detector.config.yaml_loader import DuplicateKeyError, load_yaml_text
from detector.study.spec import load_study_spec
from tests.helpers import DEFAULTS, ROOT


def test_a_key_repeated_in_a_config_file_names_both_lines(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 1\n  lr: 0.02\n  epochs: 300\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:4: key 'epochs' repeated (first at {path}:2); keep one of the two"


def test_a_repeated_section_and_a_repeated_key_in_a_base_file(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("model:\n  num_classes: 3\ndata:\n  img_size: 320\nmodel:\n  num_classes: 4\n")
    child = tmp_path / "child.yaml"
    child.write_text("base: base.yaml\ntrain: {epochs: 2}\n")
    with pytest.raises(ConfigError, match=rf"^{base}:5: key 'model' repeated \(first at {base}:1\)"):
        load_config(child)
    child.write_text("base: base.yaml\ntrain: {epochs: 2, epochs: 3}\n")
    base.write_text("data:\n  img_size: 320\n")
    with pytest.raises(ConfigError, match=rf"^{child}:2: key 'epochs' repeated \(first at {child}:2\)"):
        load_config(child)


def test_merge_keys_may_be_overridden_and_quoted_keys_count_as_the_same_key():
    assert load_yaml_text("a: &x {b: 1, c: 2}\nd:\n  <<: *x\n  b: 3\n", "m.yaml")["d"] == {"b": 3, "c": 2}
    with pytest.raises(DuplicateKeyError, match=r"^q.yaml:2: key 'lr' repeated \(first at q.yaml:1\)"):
        load_yaml_text("lr: 1\n'lr': 2\n", "q.yaml")


def test_the_generated_defaults_and_every_shipped_config_have_no_repeated_key():
    generated = defaults_yaml()
    assert load_yaml_text(generated, "defaults.yaml")["model"]["head"]["type"] == "decoupled"
    assert DEFAULTS.read_text() == generated  # the checked-in file is the generated one
    assert generated.count("\n    prior_prob: ") == 1  # model.head.prior_prob written once (was twice)
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        assert isinstance(load_yaml_text(path.read_text(), str(path)), dict), path


def test_a_key_repeated_in_a_study_file(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("name: s\nbase: x.yaml\nseeds: [0]\nseeds: [1]\n")
    with pytest.raises(ConfigError, match=rf"^{path}:4: key 'seeds' repeated \(first at {path}:3\)"):
        load_study_spec(path)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "{}\n", "---\n"])
def test_an_empty_config_file_says_so(tmp_path, text):
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"^config {path} is empty: it sets no key; .*configs/defaults.yaml"):
        load_config(path)


def test_an_empty_base_file_is_named(tmp_path):
    (tmp_path / "base.yaml").write_text("# nothing yet\n")
    (tmp_path / "c.yaml").write_text("base: base.yaml\ntrain: {epochs: 1}\n")
    with pytest.raises(ConfigError, match=rf"^config {tmp_path / 'base.yaml'} is empty"):
        load_config(tmp_path / "c.yaml")


@pytest.mark.parametrize(
    ("overrides", "source"),
    [
        (["train.epochs=3", "train=5"], "command-line override"),
        (["train=null"], "command-line override"),
        (["train=some text"], "command-line override"),
        (["model.head=5"], "command-line override"),
    ],
)
def test_a_section_given_a_value_on_the_command_line_is_an_error(overrides, source):
    section = overrides[-1].split("=")[0]
    with pytest.raises(ConfigError, match=rf"^{source}: '{section}' is a section \({section}\.\w+, .*not a value"):
        load_config(DEFAULTS, overrides)


def test_a_section_given_a_value_in_a_file_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train: 5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: 'train' is a section (train.epochs, train.batch_size, train.nominal_batch_size, ...), not a value; "
        "got 5: set its keys one by one, e.g. train.epochs=..., or give a mapping ({epochs: ...})"
    )
    assert load_config(DEFAULTS, ["data.shapes=null"]).data.shapes is None  # an optional section may be null


def test_a_yaml_syntax_error_is_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: [1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: not valid YAML: line 3, column 1: expected ',' or ']', but got '<stream end>'"
    path.write_bytes(b"\xff\xfe\x00train")
    with pytest.raises(ConfigError, match=rf"^{path}: not a text file \(invalid start byte at byte 0\)"):
        load_config(path)


def test_train_tool_rejects_a_repeated_key_with_exit_2_before_any_work(tmp_path, capsys):
    from detector.cli.train import main

    path = tmp_path / "c.yaml"
    path.write_text(f"train:\n  out_dir: {tmp_path / 'out'}\n  out_dir: {tmp_path / 'other'}\n")
    assert main([str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}:3: key 'out_dir' repeated (first at {path}:2); keep one of the two"
    )
    assert not (tmp_path / "out").exists() and not (tmp_path / "other").exists()
