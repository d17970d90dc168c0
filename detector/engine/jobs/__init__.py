"""Tool runs: what ``tools/detect.py``, ``tools/eval.py`` and ``tools/export.py`` do, and the rules every run shares
(output folders, stopping from outside)."""
