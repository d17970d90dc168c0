"""Benchmarks that print figures: suite, backbone, detector, loader, eval (subcommands).

The code is detector/cli/benchmark.py; also installed as the command ``cspx-benchmark``.
"""

import sys

from detector.cli.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
