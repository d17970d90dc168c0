"""Feed the mixtures of tests/study/tidecv_data.py to tidecv 1.0.1 and print its AP, dAPs (x 100) and error counts as
JSON: the expected figures of tests/study/test_errors_tidecv.py. Run with a Python that has tidecv (not the
project's): ``python tests/study/tidecv_reference.py REPO_ROOT``. Not a test (no ``test_`` prefix)."""
import json, sys, os, tempfile
sys.path.insert(0, sys.argv[1])
from tests.study.tidecv_data import MIXTURES, mixture
from tidecv import TIDE, datasets
from tidecv.errors.main_errors import ClassError, BoxError, OtherError, DuplicateError, BackgroundError, MissedError
names = {ClassError: "cls", BoxError: "loc", OtherError: "both", DuplicateError: "dupe", BackgroundError: "bkg", MissedError: "miss"}
out = {}
for name, (seed, mix) in MIXTURES.items():
    gt, dets = mixture(seed, mix)
    with tempfile.TemporaryDirectory() as d:
        for a in gt["annotations"]:
            x, y, w, h = a["bbox"]; a["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
        json.dump(gt, open(f"{d}/gt.json", "w")); json.dump(dets, open(f"{d}/dt.json", "w"))
        tide = TIDE()
        run = tide.evaluate(datasets.COCO(f"{d}/gt.json"), datasets.COCOResult(f"{d}/dt.json"), mode=TIDE.BOX)
        errs = run.fix_main_errors()
        counts = run.count_errors()
        out[name] = {"ap": run.ap, "dap": {names[k]: v for k, v in errs.items()}, "counts": {names[k]: v for k, v in counts.items()}}
print(json.dumps(out, indent=1))
