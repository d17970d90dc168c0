"""Feed the mixtures of tests/study/tidecv_data.py to tidecv 1.0.1 and print its AP, dAPs (x 100) and error counts as
JSON: the expected figures of tests/study/test_errors_tidecv.py. Run with a Python that has tidecv (not the
project's), from the repository root: ``PYTHONPATH=. python tests/study/tidecv_reference.py``. Not a test (no
``test_`` prefix)."""

import json
import tempfile
from pathlib import Path

from tidecv import TIDE, datasets
from tidecv.errors import main_errors as e

from tests.study.tidecv_data import MIXTURES, mixture

NAMES = {e.ClassError: "cls", e.BoxError: "loc", e.OtherError: "both", e.DuplicateError: "dupe",
         e.BackgroundError: "bkg", e.MissedError: "miss"}  # fmt: skip


def tidecv_figures(gt: dict, dets: list[dict]) -> dict:
    """tidecv's ``run.ap``, ``fix_main_errors()`` and ``count_errors()`` (box mode) on one data set."""
    for a in gt["annotations"]:  # tidecv's COCO loader wants a polygon
        x, y, w, h = a["bbox"]
        a["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    with tempfile.TemporaryDirectory() as d:
        Path(d, "gt.json").write_text(json.dumps(gt))
        Path(d, "dt.json").write_text(json.dumps(dets))
        run = TIDE().evaluate(datasets.COCO(f"{d}/gt.json"), datasets.COCOResult(f"{d}/dt.json"), mode=TIDE.BOX)
    dap = {NAMES[k]: v for k, v in run.fix_main_errors().items()}
    return {"ap": run.ap, "dap": dap, "counts": {NAMES[k]: v for k, v in run.count_errors().items()}}


if __name__ == "__main__":
    print(json.dumps({name: tidecv_figures(*mixture(seed, mix)) for name, (seed, mix) in MIXTURES.items()}, indent=1))
