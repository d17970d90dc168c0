"""data.shapes generates the synthetic set only where a split reads from it; explicit split paths always win."""

import copy
import json
import warnings
from pathlib import Path

import pytest

from detector.config import load_config
from detector.data import DatasetError, DatasetWarning, build_dataset
from detector.data.synthetic.shapes_setup import ensure_shapes, shapes_split_paths

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _shapes_cfg(root: Path, *extra: str):
    """shapes_tiny with a small set under ``root`` and both splits reading from it."""
    paths = shapes_split_paths(root)
    return load_config(
        CONFIGS / "shapes_tiny.yaml",
        [
            f"data.shapes={{root: {root}, num_train: 3, num_val: 2, img_size: 64, seed: 0}}",
            f"data.train={{ann: {paths['train']['ann']}, images: {paths['train']['images']}}}",
            f"data.val={{ann: {paths['val']['ann']}, images: {paths['val']['images']}}}",
            "data.img_size=64",
            *extra,
        ],
    )


@pytest.mark.parametrize("how", ["overrides", "base"])
def test_explicit_split_paths_win_over_data_shapes(tiny_coco, tmp_path, how):
    ann, images = tiny_coco
    root = tmp_path / "shapes"
    own = [f"data.shapes.root={root}", f"data.train.ann={ann}", f"data.train.images={images}"]
    own += [f"data.val.ann={ann}", f"data.val.images={images}"]
    if how == "overrides":
        cfg = load_config(CONFIGS / "shapes_tiny.yaml", own)
    else:  # a user config that starts from shapes_tiny.yaml and sets its own data
        child = tmp_path / "mine.yaml"
        child.write_text(
            f"base: {CONFIGS / 'shapes_tiny.yaml'}\ndata:\n  shapes: {{root: {root}}}\n"
            f"  train: {{ann: {ann}, images: {images}}}\n  val: {{ann: {ann}, images: {images}}}\n"
        )
        cfg = load_config(child)
    before = copy.deepcopy(cfg)
    with pytest.warns(DatasetWarning, match=r"data.shapes is set .* data.train points elsewhere .* not from the synth"):
        ds = build_dataset(cfg, "train")
    assert ds.class_names == ["car", "train", "kite"]  # the user's data (ids 3, 7, 11), not the 6 shapes
    assert cfg == before and cfg.data.train.ann == str(ann)  # the config is never rewritten
    assert not root.exists()  # nothing generated: no split reads from shapes.root


def test_generates_where_a_split_reads_from_root_once_and_never_edits_the_config(tmp_path):
    cfg = _shapes_cfg(tmp_path / "s")
    before = copy.deepcopy(cfg)
    paths = ensure_shapes(cfg.data, "train")
    assert paths == shapes_split_paths(tmp_path / "s")["train"] and cfg == before
    assert len(json.loads((tmp_path / "s/train.json").read_text())["images"]) == 3
    mtime = (tmp_path / "s/train.json").stat().st_mtime_ns
    assert len(build_dataset(cfg, "val")) == 2
    assert (tmp_path / "s/train.json").stat().st_mtime_ns == mtime  # not generated again
    assert ensure_shapes(load_config(CONFIGS / "shapes_tiny.yaml", ["data.shapes=null"]).data, "val") is None


def test_one_split_elsewhere_is_named_and_the_other_still_generated(tiny_coco, tmp_path):
    ann, images = tiny_coco
    cfg = _shapes_cfg(tmp_path / "s", f"data.train.ann={ann}", f"data.train.images={images}")
    with pytest.warns(DatasetWarning, match=rf"data.train points elsewhere \(ann={ann}, images={images}\)"):
        assert ensure_shapes(cfg.data, "train") is None
    assert not (tmp_path / "s").exists()  # the train split does not read it
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for the split that reads the synthetic set
        assert ensure_shapes(cfg.data, "val") == shapes_split_paths(tmp_path / "s")["val"]
    assert (tmp_path / "s/val.json").is_file() and cfg.data.train.ann == str(ann)


def test_foreign_data_in_shapes_root_is_an_error_naming_the_folder(tmp_path):
    root = tmp_path / "mydata"
    root.mkdir()
    (root / "train.json").write_text('{"images": [], "annotations": [], "categories": []}')
    with pytest.raises(DatasetError, match=rf"data.shapes.root={root} holds files that are not a generated shapes"):
        ensure_shapes(_shapes_cfg(root).data, "train")
    assert (root / "train.json").read_text().startswith('{"images": []')  # untouched


def test_another_set_in_root_is_never_regenerated_over_and_the_difference_is_named(tmp_path):
    root = tmp_path / "s"
    ensure_shapes(_shapes_cfg(root).data, "train")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    cfg = _shapes_cfg(root, "data.shapes.num_train=1", "data.shapes.seed=4")
    with pytest.raises(DatasetError, match=r"holds another shapes set \(num_train 3 \(asked 1\), seed 0 \(asked 4\)\)"):
        ensure_shapes(cfg.data, "train")
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # nothing written, nothing removed


def test_an_interrupted_set_is_completed_and_a_users_file_in_it_is_refused(tmp_path):
    root = tmp_path / "s"
    ensure_shapes(_shapes_cfg(root).data, "train")
    meta = json.loads((root / "shapes_meta.json").read_text())
    assert meta["complete"] and len(meta["files"]) == 3 + 2 + 2  # images and the two JSONs, each with its hash
    (root / "val.json").unlink()  # as if stopped before the end
    (root / "shapes_meta.json").write_text(json.dumps({**meta, "complete": False}))
    (root / "train" / "images" / "000001.jpg").write_bytes(b"the user's own image")  # bytes the manifest lacks
    with pytest.raises(DatasetError, match=r"train/images/000001.jpg would be overwritten but is not a file of the"):
        ensure_shapes(_shapes_cfg(root).data, "train")
    assert (root / "train" / "images" / "000001.jpg").read_bytes() == b"the user's own image"
    (root / "train" / "images" / "000001.jpg").unlink()
    ensure_shapes(_shapes_cfg(root).data, "train")  # completed: regenerated with the same parameters
    assert json.loads((root / "shapes_meta.json").read_text())["complete"] and (root / "val.json").is_file()


def test_generating_says_so_in_one_line(tmp_path, caplog):
    with caplog.at_level("INFO", logger="detector.data.synthetic.shapes_setup"):
        ensure_shapes(_shapes_cfg(tmp_path / "s").data, "val")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"generating the synthetic shapes set into {tmp_path / 's'} (data.shapes.num_train=3 data.shapes.num_val=2 "
        "data.shapes.img_size=64 data.shapes.seed=0)"
    ]


def test_eval_uses_the_set_its_checkpoint_was_trained_on_with_a_warning(tmp_path):
    from dataclasses import replace

    from detector.data.synthetic.shapes_setup import trained_set

    trained = _shapes_cfg(tmp_path / "s")
    ensure_shapes(trained.data, "val")
    asked = _shapes_cfg(tmp_path / "s", "data.shapes.num_train=800", "data.shapes.img_size=256")
    with pytest.warns(DatasetWarning, match=r"holds the set ck.pt was trained on, not the one data.shapes asks for "
                                             r"\(num_train 3 \(asked 800\), img_size 64 \(asked 256\)\)"):  # fmt: skip
        used = trained_set(asked.data, trained.data.shapes, "ck.pt")
    assert used == replace(trained.data.shapes, root=asked.data.shapes.root)
    other = _shapes_cfg(tmp_path / "s", "data.shapes.seed=9").data.shapes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert trained_set(trained.data, trained.data.shapes, "ck.pt") == trained.data.shapes  # the same: no word
        assert trained_set(asked.data, other, "ck.pt") == asked.data.shapes  # not the checkpoint's set: unchanged
