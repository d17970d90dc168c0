"""Export a trained detector to ONNX (default) or TorchScript and check the result against PyTorch.

The exported graph takes ``images`` float [B, 3, H, W] RGB in [0, 1] (letterboxed) and returns decoded predictions
``output`` [B, N, 4 + C] (cx, cy, w, h input pixels, class scores in [0, 1]) -- NMS is not in the graph -- or, with
--raw, one raw map per level ``raw_s8/raw_s16/raw_s32`` (YOLOv4 head [B, A, H_l, W_l, 5 + C]).
``--out`` folders that do not exist yet are created.

Example: python tools/export.py --weights runs/train/exp/weights/best.pt --img-size 640 --out best.onnx
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector.device import select_device
from detector.export import (
    MAX_OPSET,
    MIN_OPSET,
    check_onnx,
    check_torchscript,
    export_onnx,
    export_torchscript,
    output_names,
)
from detector.fuse import fuse_conv_bn


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="checkpoint written by tools/train.py")
    p.add_argument("--format", choices=("onnx", "torchscript"), default="onnx")
    p.add_argument("--img-size", type=int, nargs="+", default=[640], help="input side, or H W (multiples of 32)")
    p.add_argument("--opset", type=int, default=17, help=f"ONNX opset ({MIN_OPSET}..{MAX_OPSET})")
    p.add_argument("--raw", action="store_true", help="export raw per-level maps instead of decoded boxes")
    p.add_argument(
        "--dynamic-batch", action=argparse.BooleanOptionalAction, default=True, help="ONNX batch axis dynamic"
    )
    p.add_argument(
        "--out",
        default=None,
        help="output file; missing folders are created (default: the weights path with .onnx / .torchscript)",
    )
    p.add_argument("--half", action="store_true", help="fp16 weights and input (use with --device cuda)")
    p.add_argument("--device", default="cpu", help="device used for export and the PyTorch side of the check")
    p.add_argument("--no-fuse", action="store_true", help="do not fold BatchNorm into the convolutions")
    p.add_argument("--no-check", action="store_true", help="skip the parity check against PyTorch")
    p.add_argument("overrides", nargs="*", help="config overrides key=value applied to the checkpoint's config")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from detector.engine.checkpoint_io import load_detector

    if len(args.img_size) not in (1, 2):
        print(f"error: --img-size takes one or two values (H W), got {args.img_size}", file=sys.stderr)
        return 2
    img_size = args.img_size[0] if len(args.img_size) == 1 else tuple(args.img_size)
    try:
        device = select_device(args.device)
        model, _cfg, meta = load_detector(args.weights, list(args.overrides))
    except (OSError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.half and device.type == "cpu":
        print("warning: --half on CPU: fp16 convolutions may be slow or unsupported in onnxruntime", file=sys.stderr)
    reference = copy.deepcopy(model).eval()  # unfused PyTorch model for the parity check
    export_model = model if args.no_fuse else fuse_conv_bn(model)
    suffix = ".onnx" if args.format == "onnx" else ".torchscript"
    out = Path(args.out) if args.out else Path(args.weights).with_suffix(suffix)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"error: --out {out}: cannot create the folder {out.parent} ({e.strerror or e})", file=sys.stderr)
        return 2
    try:
        if args.format == "onnx":
            export_onnx(export_model, out, img_size, args.opset, args.raw, args.dynamic_batch, args.half, device)
        else:
            export_torchscript(export_model, out, img_size, args.raw, args.half, device)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: --out {out}: cannot write the file ({e.strerror or e})", file=sys.stderr)
        return 2
    outs = ", ".join(output_names(model, args.raw))
    print(f"exported {args.format} to {out} ({out.stat().st_size / 1e6:.1f} MB); input: images, outputs: {outs}")
    print(f"classes ({meta['num_classes']}): {meta['class_names']}")
    if not args.raw:
        print("note: decoded output [B, N, 4+C] (class scores) has no NMS: threshold and run NMS yourself")
    if args.no_check:
        return 0
    batches = (1, 2) if args.dynamic_batch or args.format == "torchscript" else (1,)
    if args.format == "onnx":
        res = check_onnx(out, reference, img_size, args.raw, batches, args.half, device)
    else:
        res = check_torchscript(out, reference, img_size, args.raw, batches, args.half, device)
    status = "OK" if res["ok"] else "FAILED"
    sizes = ", ".join(map(str, batches))
    print(f"parity check vs PyTorch (batch {sizes}): max abs diff {res['max_abs_diff']:.3g} {status}")
    if not res["ok"]:
        print(f"error: {out} does not reproduce the PyTorch outputs within tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
