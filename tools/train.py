"""Train a detector: ``python tools/train.py CONFIG [key=value ...] [--resume PATH]``.

The code is detector/cli/train.py; also installed as the command ``cspx-train``.
"""

import sys

from detector.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
