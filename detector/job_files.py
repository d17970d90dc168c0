"""One guard for every job's files: a tool declares what it reads and what it writes, then :meth:`JobFiles.check`
runs before any work and refuses (:class:`OutputFileError`, exit status 2, one line naming both paths) an output

1. that is an input (the same file after ``realpath``: symlinks, ``..``, ``./``; or, both existing, the same inode,
   which also catches another case of the same name on a case-insensitive file system);
2. that lies inside an input folder (the folder itself included: a job never writes into what it reads);
3. that is a folder holding an input the job would replace (a file it writes, ``names``, is an input);
4. that lies under a regular file, is a folder where a file is written (or the reverse), or sits where nothing can
   be written (the nearest existing folder is probed with a nameless temporary file);
5. that exists already, unless ``--exist-ok``; ``--exist-ok`` replaces an earlier *output* only: rules 1-4 hold
   with it too.

A new tool declares its files and calls ``check()`` before its work::

    files = JobFiles(exist_ok=args.exist_ok)
    files.read("--weights", args.weights, kind="file")
    files.read("--images", args.images, kind="folder")
    files.write_file("--out", args.out)
    files.write_folder("--save-dir", args.save_dir, names=["metrics.json"])
    files.check()

The writes then go through :func:`detector.output_files.atomic_path` (temporary file + rename).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from detector.output_files import EXIST_OK, OutputFileError

Kind = Literal["file", "folder", "any"]


@dataclass(frozen=True)
class Use:
    """One declared path: ``label`` (the option or config key that set it, e.g. ``"--out"``, ``"data.val.ann"``),
    the path as given, its kind; for a folder output the files it writes there (relative paths); for an input,
    ``continued``: the job itself goes on writing it (``train --resume``'s checkpoint), so rule 3 spares it."""

    label: str
    path: Path
    kind: Kind
    names: tuple[str, ...] = ()
    continued: bool = False
    exist_ok: bool = False
    option: str = ""  # the option to change, when ``label`` is a description ("the .cfg beside --out")

    @property
    def change(self) -> str:
        """What the message asks to change: ``option``, else ``label``."""
        return self.option or self.label


def _real(path: Path) -> str:
    return os.path.realpath(os.path.abspath(path))


def same_path(a: Path, b: Path) -> bool:
    """``a`` and ``b`` name the same file or folder: equal real paths, or (both existing) the same inode."""
    if _real(a) == _real(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def is_within(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or lies somewhere under it (real paths; an existing ancestor of ``path`` that is the
    same folder as ``folder`` counts, so another spelling of the folder is found too)."""
    real, top = _real(path), _real(folder)
    if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
        return True
    if not os.path.isdir(folder):
        return False
    p = Path(real)
    for anc in (p, *p.parents):
        if os.path.exists(anc):
            try:
                if os.path.samefile(anc, folder):
                    return True
            except OSError:
                return False
    return False


def _nearest_existing(path: Path) -> Path:
    p = Path(_real(path))
    for anc in (p, *p.parents):
        if os.path.lexists(anc):
            return anc
    return Path(p.anchor)


def _both(o: Use, i: Use, verb: str = "and") -> str:
    """Both paths as given, and their real path when a spelling differs (a symlink, ``..``)."""
    spelled = f"{o.label} {o.path} {verb} {i.label} {i.path}"
    ro, ri = _real(o.path), _real(i.path)
    if str(o.path) == str(i.path) or (str(o.path), str(i.path)) == (ro, ri):
        return spelled
    return f"{spelled} ({'both ' + ri if ro == ri else f'real paths {ro}, {ri}'})"


@dataclass
class JobFiles:
    """What one job reads and writes; :meth:`check` applies the module's rules before any work."""

    exist_ok: bool = False  # --exist-ok: replace earlier outputs (never an input)
    inputs: list[Use] = field(default_factory=list)
    outputs: list[Use] = field(default_factory=list)

    def read(
        self, label: str, path: str | Path | None, kind: Kind = "any", *, must_exist: bool = False,
        continued: bool = False,
    ) -> None:  # fmt: skip
        """Declare an input (None or "" is skipped). ``kind``: an existing path of the other kind is refused;
        ``must_exist``: a missing one is a FileNotFoundError naming ``label``."""
        if path is None or str(path) == "":
            return
        self.inputs.append(Use(label, Path(path), kind, continued=continued))
        if must_exist and not os.path.exists(path):
            raise FileNotFoundError(f"{label} {path}: no such {'file or folder' if kind == 'any' else kind}")

    def write_file(self, label: str, path: str | Path, *, exist_ok: bool | None = None, option: str = "") -> Path:
        """Declare a file the job writes (created or replaced). ``exist_ok`` None: the job's ``--exist-ok``;
        True: the job replaces its own earlier file there without asking. ``option``: the option the messages ask
        to change, when ``label`` describes the file instead."""
        use = Use(label, Path(path), "file", exist_ok=self.exist_ok if exist_ok is None else exist_ok, option=option)
        self.outputs.append(use)
        return use.path

    def write_folder(
        self, label: str, path: str | Path, *, names: Iterable[str] = (), option: str = "", exist_ok: bool | None = True
    ) -> Path:
        """Declare a folder the job writes into, with the files it writes there (relative paths) when known.
        ``exist_ok`` True: the job replaces those files without asking (a run folder that is fresh or numbered on);
        None: one of them already there is refused unless the job's ``--exist-ok``."""
        names_ = tuple(str(n) for n in names)
        ok = self.exist_ok if exist_ok is None else exist_ok
        use = Use(label, Path(path), "folder", names=names_, exist_ok=ok, option=option)
        self.outputs.append(use)
        return use.path

    def check(self) -> None:
        """Raise :class:`OutputFileError` (a ValueError: exit status 2) for the first output that breaks a rule,
        or FileNotFoundError / NotADirectoryError / IsADirectoryError for an input of the wrong kind."""
        for i in self.inputs:
            _check_kind(i)
        for o in self.outputs:
            for i in self.inputs:
                _check_pair(o, i)
            _check_place(o)


def _check_kind(i: Use) -> None:
    if i.kind == "file" and os.path.isdir(i.path):
        raise IsADirectoryError(f"{i.label} {i.path} is a folder: give a file")
    if i.kind == "folder" and os.path.exists(i.path) and not os.path.isdir(i.path):
        raise NotADirectoryError(f"{i.label} {i.path} is a file: give a folder")


def _check_pair(o: Use, i: Use) -> None:
    never = f"an output never replaces an input; choose another {o.change}"
    if same_path(o.path, i.path) and not i.continued:
        kind = "folder" if os.path.isdir(i.path) else "file"
        raise OutputFileError(f"{_both(o, i, f'is the same {kind} as')}: {never}")
    if os.path.isdir(i.path) and is_within(o.path, i.path) and not same_path(o.path, i.path):
        raise OutputFileError(
            f"{_both(o, i, 'lies inside the folder')}: a job never writes into a folder it "
            f"reads; choose another {o.change}"
        )
    if o.kind == "folder" and not i.continued:
        for name in o.names:
            if same_path(o.path / name, i.path):
                raise OutputFileError(
                    f"{_both(Use(o.label, o.path / name, 'file'), i, 'is the same file as')}: {never}"
                )


def _check_place(o: Use) -> None:
    p = o.path
    if o.kind == "file" and os.path.isdir(p):
        raise OutputFileError(f"{o.label} {p} is a folder: give a file path in {o.change}")
    if o.kind == "folder" and os.path.lexists(p) and not os.path.isdir(p):
        raise OutputFileError(f"{o.label} {p} is a file, not a folder: choose another {o.change}")
    anc = _nearest_existing(p if o.kind == "folder" else p.parent)
    if not os.path.isdir(anc):
        raise OutputFileError(
            f"{o.label} {p} lies under {anc}, which is a file, not a folder: choose another {o.change}"
        )
    try:
        with tempfile.TemporaryFile(dir=anc):  # nameless where the file system allows (O_TMPFILE); removed at once
            pass
    except OSError as e:
        raise OutputFileError(
            f"{o.label} {p}: nothing can be written in {anc} ({e.strerror or e}); choose another {o.change}"
        ) from None
    if o.kind == "file" and not o.exist_ok and os.path.lexists(p):
        raise OutputFileError(
            f"{o.label} {p} already exists: pass {EXIST_OK} to replace it, or choose another {o.change}"
        )
    if o.kind == "folder" and not o.exist_ok:
        for name in o.names:
            if os.path.lexists(p / name):
                raise OutputFileError(
                    f"{o.label} {p}: {p / name} already exists (an earlier output): pass {EXIST_OK} to replace it, "
                    f"or choose another {o.change}"
                )


# The rules as docs/CLI.md states them (:func:`guard_markdown`)
RULES = (
    "is an input: the same file after resolving symlinks, `..` and `./` (or, both existing, the same inode, which also"
    " catches another spelling of the name on a case-insensitive file system);",
    "lies inside a folder the job reads (the folder itself included);",
    "is a folder holding an input that one of the files the job writes there would replace;",
    "lies under a regular file (`train.out_dir=notes.txt/run`), is a folder where a file is written or a file where"
    " a folder is (`detect --out ck.pt`), or sits where nothing can be written (`--out /proc/x`);",
    "exists already, unless `--exist-ok` is given.",
)


def guard_markdown() -> str:
    """The "Inputs are never written" section of docs/CLI.md (``python -m detector.job_files`` prints it)."""
    lines = [
        "## Inputs are never written",
        "",
        "Generated from `detector/job_files.py` (`python -m detector.job_files`). Every tool declares what it reads",
        "(config, weights, resume checkpoint, annotation files, image and label folders, names files, the source,",
        "the data its config names) and what it writes (files and output folders). Before any work, each output is",
        "refused, with exit status 2 and one line naming both paths, when it",
        "",
        *(f"{n}. {rule}" for n, rule in enumerate(RULES, 1)),
        "",
        "`--exist-ok` replaces an earlier *output* only, never an input: rules 1-4 hold with it too. All writes go",
        "through one helper (`atomic_path` in `detector/output_files.py`: a temporary file in the same folder, then a",
        "rename); no message names the temporary file. A new tool declares its files the same way:",
        "",
        "<!-- snippet: internal (for authors of a tool) -->",
        "```python",
        "from detector.job_files import JobFiles",
        "files = JobFiles(exist_ok=False)                     # the tool's --exist-ok",
        'files.read("--weights", "runs/shapes_tiny/weights/best.pt", "file")',
        'files.write_file("--out", "runs/shapes_tiny/weights/best.onnx")',
        "files.check()  # OutputFileError (exit 2) before any work",
        "```",
    ]
    return "\n".join(lines) + "\n"


__all__ = ["RULES", "JobFiles", "Use", "guard_markdown", "is_within", "same_path"]

if __name__ == "__main__":
    print(guard_markdown(), end="")
