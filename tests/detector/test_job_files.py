"""The rules of detector/job_files.py, one test each: an output is never an input (any spelling), never inside an
input folder, never a folder whose files would replace an input; never under a file or where nothing can be
written; an existing output file only with exist_ok; messages name both paths and never a temporary file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from detector.job_files import JobFiles, is_within, same_path
from detector.output_files import OutputFileError, atomic_path


def _files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "data" / "images").mkdir(parents=True)
    gt = tmp_path / "data" / "gt.json"
    gt.write_text("{}")
    return gt, tmp_path / "data" / "images"


@pytest.mark.parametrize("spelling", ["{d}/gt.json", "{d}/./gt.json", "{d}/images/../gt.json", "link"])
@pytest.mark.parametrize("exist_ok", [False, True])
def test_an_output_that_is_an_input_is_refused_in_any_spelling(tmp_path: Path, spelling: str, exist_ok: bool):
    gt, _ = _files(tmp_path)
    (tmp_path / "link").symlink_to(gt)
    out = spelling.replace("{d}", str(tmp_path / "data")) if spelling != "link" else str(tmp_path / "link")
    files = JobFiles(exist_ok=exist_ok)
    files.read("data.val.ann", gt, "file")
    files.write_file("--json", out)
    with pytest.raises(OutputFileError, match="is the same file as data.val.ann .*never replaces an input") as e:
        files.check()
    assert str(Path(out)) in str(e.value) and str(gt) in str(e.value)  # both paths, as given
    assert gt.read_text() == "{}"


@pytest.mark.parametrize("out", ["images/x.json", "images/../images/sub/x.json", "images"])
def test_an_output_inside_an_input_folder_is_refused(tmp_path: Path, out: str):
    _, images = _files(tmp_path)
    files = JobFiles(exist_ok=True)
    files.read("--images", images, "folder")
    files.write_file("--out", tmp_path / "data" / out) if out != "images" else files.write_folder("--out", images)
    with pytest.raises(OutputFileError, match="--images"):
        files.check()


def test_a_folder_output_whose_file_would_replace_an_input_is_refused(tmp_path: Path):
    gt, _ = _files(tmp_path)
    files = JobFiles(exist_ok=True)
    files.read("--gt", gt, "file")
    files.write_folder("--out", tmp_path / "data", names=["metrics.json", "gt.json"])
    with pytest.raises(OutputFileError, match=r"--out .*gt.json is the same file as --gt"):
        files.check()
    ok = JobFiles(exist_ok=True)  # the same folder, files of other names: allowed
    ok.read("--gt", gt, "file")
    ok.write_folder("--out", tmp_path / "data", names=["metrics.json"])
    ok.check()


def test_a_continued_input_is_spared(tmp_path: Path):
    last = tmp_path / "run" / "weights" / "last.pt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"ckpt")
    files = JobFiles(exist_ok=True)
    files.read("--resume", last, "file", continued=True)
    files.write_folder("train.out_dir", tmp_path / "run", names=["weights/last.pt"])
    files.check()


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_an_output_under_a_file_or_where_nothing_can_be_written_is_refused(tmp_path: Path, kind: str):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for path, message in ((notes / "run", "lies under .*notes.txt, which is a file"), (Path("/proc/x"), "nothing")):
        files = JobFiles()
        (files.write_file if kind == "file" else files.write_folder)("--out", path)
        with pytest.raises(OutputFileError, match=message):
            files.check()
    files = JobFiles(exist_ok=True)
    files.write_folder("--out", notes)
    with pytest.raises(OutputFileError, match="is a file, not a folder"):
        files.check()
    assert notes.read_text() == "mine"


def test_an_existing_output_file_needs_exist_ok(tmp_path: Path):
    earlier = tmp_path / "m.json"
    earlier.write_text("earlier")
    files = JobFiles()
    files.write_file("--json", earlier)
    with pytest.raises(OutputFileError, match="already exists: pass --exist-ok"):
        files.check()
    replaced = JobFiles(exist_ok=True)
    replaced.write_file("--json", earlier)
    replaced.check()


def test_input_kinds_are_checked(tmp_path: Path):
    gt, images = _files(tmp_path)
    wrong = JobFiles()
    wrong.read("--ann", images, "file")
    with pytest.raises(IsADirectoryError, match="--ann .* is a folder"):
        wrong.check()
    wrong = JobFiles()
    wrong.read("--images", gt, "folder")
    with pytest.raises(NotADirectoryError, match="--images .* is a file"):
        wrong.check()
    with pytest.raises(FileNotFoundError, match="--names .*nope.txt: no such file"):
        JobFiles().read("--names", tmp_path / "nope.txt", "file", must_exist=True)


def test_same_path_and_is_within_see_through_spellings(tmp_path: Path):
    gt, images = _files(tmp_path)
    os.symlink(images, tmp_path / "alias")
    assert same_path(gt, tmp_path / "data" / "images" / ".." / "gt.json")
    assert is_within(tmp_path / "alias" / "new" / "x.json", images)
    assert not is_within(tmp_path / "data" / "gt.json", images)


def test_a_write_error_names_the_target_not_the_temporary_file(tmp_path: Path):
    target = tmp_path / "x.json"
    with pytest.raises(OSError) as e, atomic_path(target) as tmp:
        raise OSError(28, "No space left on device", str(tmp))
    assert str(target) in str(e.value) and ".tmp-" not in str(e.value)
    with pytest.raises(RuntimeError) as r, atomic_path(target) as tmp:
        raise RuntimeError(f"cannot open {tmp}")
    assert str(r.value) == f"cannot open {target}"
    assert list(tmp_path.iterdir()) == []
