"""detector/config/docs.py: configs/defaults.yaml, docs/CONFIG.md and the README key table come from the dataclasses."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from detector.config import Config, config_from_dict
from detector.config.docs import (
    BEGIN,
    CONFIG_MD,
    DEFAULTS_YAML,
    END,
    README,
    README_KEYS,
    Key,
    Section,
    config_md,
    defaults_yaml,
    describe,
    flatten,
    main,
    readme_table,
    stale_files,
)
from detector.config.ranges import AT_LEAST_1
from detector.config.schema import option, option_choices

ROOT = Path(__file__).resolve().parents[2]


def test_generated_files_are_up_to_date():
    stale = [str(p) for p in stale_files(ROOT)]
    assert not stale, f"{', '.join(stale)} out of date: run `python -m detector.config.docs`"


def test_generated_defaults_load_as_the_default_config():
    assert config_from_dict(yaml.safe_load(defaults_yaml()), "generated") == Config()


def test_every_key_is_documented_and_in_every_output():
    keys = [k for k in flatten(describe(Config)).values() if isinstance(k, Key)]
    assert len(keys) > 70  # the head families' own keys are listed per variant
    reference, defaults = config_md(), defaults_yaml()
    for key in keys:
        assert key.doc, f"{key.path} has no doc: declare it with option(..., doc=...)"
        assert f"| `{key.path}` |" in reference
    row = next(line for line in defaults.splitlines() if line.startswith("  epochs:"))
    assert row == "  epochs: 300  # training epochs; >= 1"
    assert "| `train.optimizer` | str | `sgd` | one of: sgd, adamw | optimiser |" in reference
    assert "| `model.neck.widths` | list of int | `[128, 256, 512]` | each >= 1 | channels of P3/P4/P5 |" in reference


def test_optional_section_lists_its_keys_as_comments():
    lines = defaults_yaml().splitlines()
    i = lines.index(next(line for line in lines if line.startswith("  shapes: null  # ")))
    assert lines[i + 1 : i + 3] == [
        "  #   root: data/shapes  # folder the synthetic set is generated into",
        "  #   num_train: 800  # training images; >= 1",
    ]
    assert "Null by default; a mapping given for it holds these keys" in config_md()


def test_readme_table_lists_the_main_keys():
    table = readme_table()
    assert table.count("\n") == len(README_KEYS) + 2
    assert "| `data.img_size` | `640` | square input side, pixels; >= 32 and a multiple of 32 |" in table
    text = (ROOT / README).read_text()
    assert text.index(BEGIN) < text.index(table) < text.index(END)


def _copy_generated(tmp_path: Path) -> Path:
    for rel in (DEFAULTS_YAML, CONFIG_MD, README):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    return tmp_path


def test_check_names_the_stale_files_and_a_run_rewrites_them(tmp_path, capsys):
    root = _copy_generated(tmp_path)
    assert main(["--check", "--root", str(root)]) == 0
    (root / DEFAULTS_YAML).write_text("train:\n  epochs: 3\n")
    readme = (root / README).read_text()
    (root / README).write_text(readme.replace("| `train.epochs` | `300` |", "| `train.epochs` | `3` |"))
    assert main(["--check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "out of date: configs/defaults.yaml, README.md; run `python -m detector.config.docs`" in err
    assert main(["--root", str(root)]) == 0
    assert capsys.readouterr().out.split() == ["wrote", "configs/defaults.yaml", "wrote", "README.md"]
    assert (root / DEFAULTS_YAML).read_text() == defaults_yaml()
    assert (root / README).read_text() == readme
    assert main(["--check", "--root", str(root)]) == 0


def test_readme_without_markers_is_an_error(tmp_path, capsys):
    root = _copy_generated(tmp_path)
    (root / README).write_text("# no table here\n")
    assert main(["--check", "--root", str(root)]) == 2
    assert f"README.md needs the markers {BEGIN} and {END}" in capsys.readouterr().err


# A tagged union: a `type` field whose variants each add their own keys beside it.


@dataclass
class _Square:
    side: int = option(3, doc="side, pixels", range=AT_LEAST_1)


@dataclass
class _Circle:
    radius: float = option(1.5, doc="radius, pixels")


@dataclass
class _Shape:
    type: str = option("square", doc="shape kind", variants=lambda: {"square": _Square, "circle": _Circle})
    color: str = option("red", doc="fill colour")


@dataclass
class _Drawing:
    shape: _Shape = option(doc="what to draw", factory=_Shape)


def test_tagged_union_variants_are_listed_under_their_type_name():
    section = describe(_Drawing)
    (shape,) = section.items
    assert isinstance(shape, Section)
    assert [name for name, _ in shape.variants] == ["square", "circle"]
    assert option_choices(_Shape.__dataclass_fields__["type"]) == ("square", "circle")  # choices from the variants
    assert defaults_yaml(_Drawing).split("\n\n", 1)[1] == (
        "shape:  # what to draw\n"
        "  type: square  # shape kind; one of: square, circle\n"
        "  color: red  # fill colour\n"
        "  side: 3  # side, pixels; >= 1\n"
        "  # with type: circle, these keys instead:\n"
        "  # radius: 1.5  # radius, pixels\n"
    )
    reference = config_md(_Drawing)
    assert "With `type: circle`, `shape` also takes:" in reference
    assert "| `shape.radius` | float | `1.5` |  | radius, pixels |" in reference
    assert "| `shape.side` | int | `3` | >= 1 | side, pixels |" in reference


@pytest.mark.parametrize("value", [0.001, 1e-5, "", "a: b", [[1, 2.5]], None, True, "null"])
def test_default_values_are_written_as_yaml_that_loads_back(value):
    from detector.config.docs import yaml_value

    assert yaml.safe_load(f"k: {yaml_value(value)}") == {"k": value}
