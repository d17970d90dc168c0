"""Convert a darknet CSPResNeXt50-PANet-SPP model (.cfg + .weights) into a detector checkpoint, or back.

The code is detector/cli/convert_darknet.py; also installed as the command ``cspx-convert-darknet``.
"""

import sys

from detector.cli.convert_darknet import main

if __name__ == "__main__":
    sys.exit(main())
