"""Export a trained detector to ONNX (default) or TorchScript and check the result against PyTorch.

The code is detector/cli/export.py; also installed as the command ``cspx-export``.
"""

import sys

from detector.cli.export import main

if __name__ == "__main__":
    sys.exit(main())
