"""Benchmarks that print figures. Subcommands: ``backbone`` (ours vs timm). Add more with ``add_<name>_parser``.

python tools/benchmark.py backbone --device cuda --batch 32 --size 640 --dtype bf16 --channels-last
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector.benchmark import DTYPES, BackboneBenchSettings, benchmark_backbone


def _write_json(result: dict, path: str | None) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=2))
        print(f"wrote {path}")


def _print_env(env: dict, settings: dict) -> None:
    print(
        f"device: {env['device']} ({env['device_name']})  torch {env['torch']}  cuda {env['cuda']}  "
        f"threads {env['threads']}"
    )
    print("settings: " + "  ".join(f"{k}={v}" for k, v in settings.items()))


def run_backbone(args: argparse.Namespace) -> dict:
    """``backbone`` subcommand: forward and train-step images/s of ours vs timm, and their ratio."""
    settings = BackboneBenchSettings(
        name=args.name,
        device=args.device,
        batch=args.batch,
        size=args.size,
        dtype=args.dtype,
        channels_last=args.channels_last,
        compile=args.compile,
        warmup=args.warmup,
        iters=args.iters,
        repeats=args.repeats,
        train=not args.no_train,
    )
    r = benchmark_backbone(settings)
    _print_env(r["env"], r["settings"])
    if r["max_abs_diff"] is not None:
        print(f"parity (fp32, before timing): max |ours - timm| = {r['max_abs_diff']:.2e}")
    print(f"{'model':<8}{'fwd ms':>10}{'fwd img/s':>12}{'train ms':>10}{'train img/s':>13}")
    for key in ("ours", "timm"):
        m = r.get(key)
        if m:
            print(
                f"{key:<8}{m['fwd_ms']:>10.2f}{m['fwd_img_s']:>12.1f}"
                f"{m.get('train_ms', float('nan')):>10.2f}{m.get('train_img_s', float('nan')):>13.1f}"
            )
    if r.get("timm"):
        line = f"ratio ours/timm: forward {r['ratio_fwd']:.3f}"
        if "ratio_train" in r:
            line += f"  train step {r['ratio_train']:.3f}"
        print(line)
    else:
        print("timm not installed: no reference figures")
    _write_json(r, args.json)
    return r


def add_backbone_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backbone", help="backbone throughput: ours vs timm (same weights and settings)")
    p.add_argument("--name", default="cspresnext50", help="backbone with a same-named timm model (default %(default)s)")
    p.add_argument("--device", default="auto", help="cpu | cuda | cuda:N | auto (default %(default)s)")
    p.add_argument("--batch", type=int, default=8, help="images per call (default %(default)s)")
    p.add_argument("--size", type=int, default=224, help="square input side in pixels (default %(default)s)")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="autocast dtype (default %(default)s)")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format for model and input")
    p.add_argument("--compile", action="store_true", help="torch.compile both models")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls first (default %(default)s)")
    p.add_argument("--iters", type=int, default=10, help="calls per timed run (default %(default)s)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs; the median is reported (default %(default)s)")
    p.add_argument("--no-train", action="store_true", help="skip the training-step (fwd+bwd) figure")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.set_defaults(func=run_backbone)


# Subcommand registrars; other benchmarks (detector, loader) append theirs here.
SUBCOMMANDS = [add_backbone_parser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    main()
