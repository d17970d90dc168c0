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
from detector.cli.parsing import ToolParser
from detector.cli.tool_args import add_config_flags, arg_type, config_flag_overrides
from detector.engine.jobs.export import FORMATS, ExportOptions, run_export
from detector.runtime.torch_export import MAX_OPSET, MIN_OPSET

log = logging.getLogger("detector")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="checkpoint written by tools/train.py")
    p.add_argument("--format", choices=FORMATS, default="onnx")
    p.add_argument(
        "--img-size",
        type=arg_type("export", "--img-size"),
        nargs="+",
        default=None,
        help="input side, or H W (multiples of 32; default: predict.img_size, else the training data.img_size)",
    )
    p.add_argument(
        "--opset", type=arg_type("export", "--opset"), default=17, help=f"ONNX opset ({MIN_OPSET}..{MAX_OPSET})"
    )
    p.add_argument("--raw", action="store_true", help="export raw per-level maps instead of decoded boxes")
    p.add_argument(
        "--dynamic-batch", action=argparse.BooleanOptionalAction, default=True, help="ONNX batch axis dynamic"
    )
    p.add_argument(
        "--out",
        default=None,
        help="output file; missing folders are created (default: the weights path with .onnx / .torchscript)",
    )
    p.add_argument("--exist-ok", action="store_true", help="replace --out if it exists (never the --weights file)")
    add_config_flags(p, "export")  # --half: predict.half=true (fp16 weights and input; use with --device cuda)
    p.add_argument("--device", default="cpu", help="device used for export and the PyTorch side of the check")
    p.add_argument("--no-fuse", action="store_true", help="do not fold BatchNorm into the convolutions")
    p.add_argument(
        "--no-check", action="store_true", help="skip the parity check against PyTorch (--int8: the val AP check)"
    )
    p.add_argument("--int8", action="store_true", help="openvino: INT8 (NNCF), its val AP checked against float")
    p.add_argument(
        "--calib-images",
        type=arg_type("export", "--calib-images"),
        default=300,
        help="--int8: calibration images from data.train",
    )
    p.add_argument(
        "--max-ap-drop",
        type=arg_type("export", "--max-ap-drop"),
        default=0.01,
        help="--int8: largest val AP loss accepted (else exit 1)",
    )
    p.add_argument("--quiet", action="store_true", help="print warnings and errors only")
    p.add_argument(
        "overrides",
        nargs="*",
        default=[],
        metavar="key=value",
        help="overrides of the checkpoint's config, e.g. predict.conf=0.4",
    )
    return p.parse_args(argv)


def options(args: argparse.Namespace) -> ExportOptions:
    """The parsed command line as :class:`ExportOptions`."""
    return ExportOptions(
        weights=args.weights,
        format=args.format,
        img_size=None if args.img_size is None else list(args.img_size),
        opset=args.opset,
        raw=args.raw,
        dynamic_batch=args.dynamic_batch,
        out=args.out,
        exist_ok=args.exist_ok,
        device=args.device,
        fuse=not args.no_fuse,
        check=not args.no_check,
        int8=args.int8,
        calib_images=args.calib_images,
        max_ap_drop=args.max_ap_drop,
        overrides=[*config_flag_overrides(args, "export"), *args.overrides],  # an explicit key=value wins
    )


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
