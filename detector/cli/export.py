"""Export a trained detector to ONNX (default), TorchScript or OpenVINO (fp32, --half, --int8) and check the result.

The exported graph takes ``images`` float [B, 3, H, W] RGB in [0, 1] (letterboxed) and returns decoded predictions
``output`` [B, N, 4 + C] (cx, cy, w, h input pixels, class scores in [0, 1]) -- NMS is not in the graph -- or, with
--raw, one raw map per level ``raw_s8/raw_s16/raw_s32`` (the head family's raw layout, in the metadata).
``--out`` folders that do not exist yet are created; ``--out`` is never the weights, and an existing file is replaced
only with --exist-ok (checked before the export). The checkpoint config's ``predict`` section gives the default input
size (``predict.img_size``, else the training ``data.img_size``), fp16 (``predict.half=true``, alias ``--half``) and
the post-processing written into the file's ``nms`` metadata; ``key=value`` overrides set them. The run itself is
detector/engine/jobs/export.py.

--format openvino writes a folder <name>_openvino/ (.xml, .bin, metadata.json); --int8 quantizes it with NNCF on
--calib-images images of the config's data.train split and evaluates float and INT8 on data.val: an AP drop over
--max-ap-drop exits 1 and writes nothing. Needs: pip install -r requirements-deploy.txt

Example: python tools/export.py --weights runs/train/exp/weights/best.pt --img-size 640 --out best.onnx
"""

from __future__ import annotations

import argparse
import logging
import sys

from detector.cli.exit_codes import EXIT_FAILED, EXIT_OK, run_tool
from detector.cli.logging_setup import configure_logging
from detector.cli.option_args import add_options, options_from_args
from detector.cli.parsing import ToolParser
from detector.cli.tool_args import add_config_flags, config_flag_overrides
from detector.engine.jobs.export import ExportOptions, run_export

log = logging.getLogger("detector")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, ExportOptions, "export")  # --weights --format --img-size --opset ...: ExportOptions' declarations
    add_config_flags(p, "export")  # --half: predict.half=true (fp16 weights and input; use with --device cuda)
    p.add_argument("--quiet", action="store_true", help="print warnings and errors only")
    return p.parse_args(argv)


def options(args: argparse.Namespace) -> ExportOptions:
    """The parsed command line as :class:`ExportOptions`."""
    overrides = [*config_flag_overrides(args, "export"), *args.overrides]  # an explicit key=value wins
    return options_from_args(args, ExportOptions, overrides=overrides)


@run_tool
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(quiet=args.quiet)
    summary = run_export(options(args))
    if not summary.ok:
        log.error("%s does not reproduce the PyTorch outputs within tolerance", summary.out)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
