"""Run a trained detector on images, folders, globs, videos, webcams or streams; save annotated results.

The code is detector/cli/detect.py; also installed as the command ``cspx-detect``.
"""

import sys

from detector.cli.detect import main

if __name__ == "__main__":
    sys.exit(main())
