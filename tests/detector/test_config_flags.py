"""Flags that are config keys (detector/cli/tool_args.py CONFIG_FLAGS): detect / export / benchmark turn them into
``key=value`` overrides of the config's ``predict`` section, and the overrides give the settings the jobs run with."""

from __future__ import annotations

import pytest

from detector.cli import benchmark, detect, export
from detector.cli.tool_args import CONFIG_FLAGS
from detector.config import load_config, option_at, predict_settings

DETECT = ["--weights", "w.pt", "--source", "imgs"]


def test_every_alias_names_a_config_key_and_its_constant_is_a_valid_value() -> None:
    for flags in CONFIG_FLAGS.values():
        for alias in flags.values():
            option_at(alias.key)  # KeyError when the key does not exist
            if alias.const is not None:
                value = str(alias.const).lower() if isinstance(alias.const, bool) else alias.const
                cfg = load_config(None, [f"{alias.key}={value}"])
                section, name = alias.key.split(".")
                assert getattr(getattr(cfg, section), name) == alias.const


def test_detect_flags_are_predict_overrides_and_explicit_keys_come_last() -> None:
    args = detect.parse_args([*DETECT, "--conf", "0.4", "--square", "--img-size", "320", "predict.iou=0.5"])
    opts = detect.options(args)
    assert opts.overrides == ["predict.img_size=320", "predict.conf=0.4", "predict.letterbox=square", "predict.iou=0.5"]
    settings = predict_settings(load_config(None, opts.overrides))
    assert (settings.conf, settings.iou, settings.img_size, settings.letterbox) == (0.4, 0.5, 320, "square")
    assert (settings.max_det, settings.half, settings.multi_label) == (300, None, False)  # the declared defaults


def test_unset_flags_leave_the_checkpoint_config_alone() -> None:
    assert detect.options(detect.parse_args(DETECT)).overrides == []
    # flags and key=value may be mixed in any order
    args = detect.parse_args([*DETECT, "predict.max_det=5", "--half", "predict.conf=0.1"])
    assert detect.options(args).overrides == ["predict.half=true", "predict.max_det=5", "predict.conf=0.1"]


def test_an_explicit_key_wins_over_its_flag_with_a_warning() -> None:
    overrides = detect.options(detect.parse_args([*DETECT, "--conf", "0.4", "predict.conf=0.6"])).overrides
    with pytest.warns(UserWarning, match=r"'predict.conf' is given 2 times"):
        assert load_config(None, overrides).predict.conf == 0.6


def test_alias_values_are_range_checked_by_argparse(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        detect.parse_args([*DETECT, "--conf", "1.5"])
    assert e.value.code == 2
    assert "argument --conf: must be in [0, 1], got 1.5" in capsys.readouterr().err


def test_export_half_and_size_default() -> None:
    opts = export.options(export.parse_args(["--weights", "w.pt", "--half", "predict.conf=0.3"]))
    assert opts.overrides == ["predict.half=true", "predict.conf=0.3"]
    assert opts.img_size is None  # the checkpoint's predict.img_size, else its data.img_size
    assert export.options(export.parse_args(["--weights", "w.pt", "--img-size", "480", "640"])).img_size == [480, 640]


def test_benchmark_detector_nms_flags_are_predict_overrides() -> None:
    args = benchmark.build_parser().parse_args(["detector", "configs/shapes_tiny.yaml", "x.y=1", "--conf", "0.1"])
    assert args.overrides == ["x.y=1"] and args.conf == 0.1
    from detector.cli.tool_args import config_flag_overrides

    assert config_flag_overrides(args, "benchmark detector") == ["predict.conf=0.1"]
