"""Dataset doctor: report what is wrong with a dataset before training meets it.

The code is detector/cli/check_dataset.py; also installed as the command ``cspx-check-dataset``.
"""

import sys

from detector.cli.check_dataset import main

if __name__ == "__main__":
    sys.exit(main())
