"""COCO evaluation of a trained detector, or of an existing predictions file.

The code is detector/cli/eval.py; also installed as the command ``cspx-eval``.
"""

import sys

from detector.cli.eval import main

if __name__ == "__main__":
    sys.exit(main())
