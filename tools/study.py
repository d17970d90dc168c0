"""Compare backbones fairly: train every backbone x seed with the identical recipe, evaluate, time, report.

The code is detector/cli/study.py; also installed as the command ``cspx-study``.
"""

import sys

from detector.cli.study import main

if __name__ == "__main__":
    sys.exit(main())
