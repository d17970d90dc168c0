"""Convert a darknet CSPResNeXt50-PANet-SPP model (.cfg + .weights) into a detector checkpoint, or back.

    python tools/convert_darknet.py --cfg csresnext50-panet-spp-original-optimal.cfg \\
        --weights csresnext50-panet-spp-original-optimal_final.weights --names coco.names --out cspx50_darknet.pt
    python tools/convert_darknet.py --checkpoint cspx50_darknet.pt --out cspx50.weights      # + cspx50.cfg

The checkpoint works with tools/detect.py, tools/eval.py and tools/export.py (--weights) and as train.weights=.
The class count comes from the cfg; names from --names (one per line), numbered otherwise; COCO's 80 names (also
darknet's coco.names spellings) map the labels to COCO category ids, so tools/eval.py on COCO val works directly.
An output is never one of the inputs; an existing output file is replaced only with --exist-ok (exit status 2); a
name that says the other format (a checkpoint --out ending in .weights, darknet weights ending in .pt/.pth/.ckpt) is
refused (exit status 2).
"""

from __future__ import annotations

import argparse
import sys

from detector.cli.exit_codes import EXIT_OK, run_tool
from detector.cli.parsing import ToolParser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", help="darknet .cfg (csresnext50-panet-spp*.cfg layout, any class count)")
    p.add_argument("--weights", help="darknet .weights written for that cfg")
    p.add_argument("--names", help="class names, one per line (e.g. coco.names); default: 0, 1, ...")
    p.add_argument("--checkpoint", help="reverse direction: a checkpoint of the darknet layout to write as .weights")
    p.add_argument("--out", required=True, help="checkpoint to write (.pt), or .weights with --checkpoint")
    p.add_argument("--out-cfg", help="with --checkpoint: the .cfg to write (default: --out with suffix .cfg)")
    p.add_argument("--exist-ok", action="store_true", help="replace --out (and --out-cfg) if they exist")
    args = p.parse_args(argv)
    if args.checkpoint:
        if args.cfg or args.weights or args.names:
            p.error("--checkpoint (checkpoint -> darknet) takes no --cfg/--weights/--names")
    elif not (args.cfg and args.weights):
        p.error("give --cfg and --weights (darknet -> checkpoint), or --checkpoint (checkpoint -> darknet)")
    elif args.out_cfg:
        p.error("--out-cfg only goes with --checkpoint")
    return args


@run_tool
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from detector.darknet import convert_darknet, export_darknet

    if args.checkpoint:
        weights, cfg = export_darknet(args.checkpoint, args.out, args.out_cfg, exist_ok=args.exist_ok)
        print(f"wrote {weights} ({weights.stat().st_size / 1e6:.1f} MB) and {cfg} from {args.checkpoint}")
        return EXIT_OK
    out, ckpt = convert_darknet(args.cfg, args.weights, args.out, args.names, exist_ok=args.exist_ok)
    m = ckpt["config"]["model"]
    dk = ckpt["darknet"]
    stats = ("running_mean", "running_var", "num_batches_tracked", "anchors")
    params = sum(t.numel() for k, t in ckpt["model"].items() if not k.endswith(stats))
    coco = ckpt["cat_ids"] != list(range(ckpt["num_classes"]))
    print(
        f"darknet {'.'.join(map(str, dk['version']))} weights, seen {dk['seen']:,} images -> {out}\n"
        f"model: {m['backbone']['name']} (width x{m['backbone']['width_mult']:g}) + SPP-PAN {m['neck']['widths']} + "
        f"YOLOv4 head (exp sizes), {params:,} parameters, input {ckpt['config']['data']['img_size']} RGB [0, 1]\n"
        f"classes: {ckpt['num_classes']} ({'COCO category ids' if coco else 'labels 0..C-1'}): "
        f"{ckpt['class_names'][:5]}{' ...' if ckpt['num_classes'] > 5 else ''}\n"
        f"anchors per level: {[[_num(v) for v in row] for row in m['head']['anchors']]}, "
        f"scale_x_y: {m['head']['scale_x_y']}"
    )
    return EXIT_OK


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


if __name__ == "__main__":
    sys.exit(main())
