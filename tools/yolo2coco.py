"""Convert a YOLO-txt dataset (images/ + labels/ with `class cx cy w h` normalised) to a COCO JSON file.

The code is detector/cli/yolo2coco.py; also installed as the command ``cspx-yolo2coco``.
"""

import sys

from detector.cli.yolo2coco import main

if __name__ == "__main__":
    sys.exit(main())
