"""Download COCO 2017 into data/coco/{train2017,val2017,annotations/instances_*.json}.

The code is detector/cli/download_coco.py; also installed as the command ``cspx-download-coco``.
"""

import sys

from detector.cli.download_coco import main

if __name__ == "__main__":
    sys.exit(main())
