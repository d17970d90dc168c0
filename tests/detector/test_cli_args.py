"""detector/cli/tool_args.py: the argparse types built from the one table of tool-argument ranges, and the bounds that
come from what the code can really do (ONNX opsets, the shapes generator's smallest image)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from detector.cli.tool_args import OPSET, SHAPES_SIDE
from detector.cli.tool_table import arg_list_type, arg_type, check_value, tool_args
from detector.config import key_range

TOOL_ARGS = tool_args()


def _parser(**types) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tool", exit_on_error=True)
    for flag, kind in types.items():
        p.add_argument(f"--{flag.replace('_', '-')}", type=kind)
    return p


def test_values_in_range_are_parsed_to_their_type() -> None:
    p = _parser(conf=arg_type("detect", "--conf"), img_size=arg_type("detect", "--img-size"))
    args = p.parse_args(["--conf", "0.5", "--img-size", "640"])
    assert args.conf == 0.5 and isinstance(args.conf, float)
    assert args.img_size == 640 and isinstance(args.img_size, int)
    assert p.parse_args(["--conf", "0", "--img-size", "32"]).conf == 0.0  # the bounds themselves are allowed
    assert p.parse_args(["--conf", "1"]).conf == 1.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--conf", "2"], "argument --conf: must be in [0, 1], got 2"),
        (["--conf", "inf"], "argument --conf: must be in [0, 1], got inf"),
        (["--conf", "x"], "argument --conf: expected a number, got 'x'"),
        (["--img-size", "33"], "argument --img-size: must be >= 32 and a multiple of 32, got 33"),
        (["--img-size", "64.0"], "argument --img-size: expected an integer, got '64.0'"),
    ],
)
def test_argparse_reports_the_range_and_exits_2(capsys, argv: list[str], message: str) -> None:
    p = _parser(conf=arg_type("detect", "--conf"), img_size=arg_type("detect", "--img-size"))
    with pytest.raises(SystemExit) as exit_info:
        p.parse_args(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"tool: error: {message}"


def test_lists_check_every_element(capsys) -> None:
    p = _parser(sizes=arg_list_type("benchmark detector", "--sizes"))
    assert p.parse_args(["--sizes", "320, 640,"]).sizes == [320, 640]
    with pytest.raises(SystemExit):
        p.parse_args(["--sizes", "320,100"])
    assert capsys.readouterr().err.splitlines()[-1] == (
        "tool: error: argument --sizes: must be >= 32 and a multiple of 32, got 100 (in '320,100'; comma-separated, "
        "like 320,640)"
    )


def test_config_keys_share_the_config_range_and_unknown_entries_are_named() -> None:
    for tool, flags in TOOL_ARGS.items():
        for flag, spec in flags.items():
            assert spec.kind in (int, float), (tool, flag)
            if spec.key is not None:
                assert spec.allowed == key_range(spec.key), (tool, flag)
    assert check_value("detect", "--iou", 0.45) is None
    assert check_value("detect", "--iou", 1.5) == "must be in [0, 1], got 1.5"
    with pytest.raises(KeyError, match="no range for detect --nope"):
        arg_type("detect", "--nope")


def test_opset_range_is_the_exporters() -> None:
    from detector.runtime.torch_export import MAX_OPSET, MIN_OPSET

    assert (OPSET.lo, OPSET.hi) == (MIN_OPSET, MAX_OPSET)


def test_shapes_side_bound_is_the_smallest_the_generator_draws(tmp_path) -> None:
    from detector.data.synthetic.shapes import render_image
    from detector.data.synthetic.shapes_video import make_shapes_video

    side = int(SHAPES_SIDE.lo)
    for seed in range(20):  # every object size the generator draws fits at the bound
        rng = np.random.default_rng(seed)
        for _ in range(3):
            img, boxes, _, _ = render_image(side, rng)
            assert img.shape == (side, side, 3) and ((boxes >= 0) & (boxes <= side)).all()
    assert make_shapes_video(tmp_path / "v.mp4", 3, side, 0)["frames"] == 3
    with pytest.raises(ValueError):  # one pixel less and it cannot draw its usual objects
        render_image(side - 1, np.random.default_rng(0))
