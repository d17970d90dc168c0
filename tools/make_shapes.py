"""Generate a synthetic detection dataset: the built-in shapes set (COCO), a demo video, or a held-out set.

The code is detector/cli/make_shapes.py; also installed as the command ``cspx-make-shapes``.
"""

import sys

from detector.cli.make_shapes import main

if __name__ == "__main__":
    sys.exit(main())
