"""The one rule for output folders: a new run never writes into a folder that already holds files."""

from __future__ import annotations

from pathlib import Path

from detector.output_files import OutputFileError


def is_free(folder: Path) -> bool:
    """True when ``folder`` does not exist or holds no file (empty sub-folders, e.g. the ``weights/`` of a run that
    stopped before its first checkpoint, do not count)."""
    if not folder.exists():
        return True
    return folder.is_dir() and not any(p.is_file() or p.is_symlink() for p in folder.rglob("*"))


def next_free_folder(out: str | Path, exist_ok: bool = False, label: str = "the output folder") -> Path:
    """``out`` when it is free (or ``exist_ok``), else the first free ``out2``, ``out3``, ... beside it.
    ``out`` that is a file (not a folder) is an :class:`OutputFileError` naming ``label`` (the option that set it):
    a run never moves on beside a file."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputFileError(f"{label} {out} is a file, not a folder: choose another {label}")
    if exist_ok or is_free(out):
        return out
    n = 2
    while not is_free(out.with_name(f"{out.name}{n}")):
        n += 1
    return out.with_name(f"{out.name}{n}")
