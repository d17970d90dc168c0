"""The one rule for what tools write: never over an input, never over an existing file without ``--exist-ok``.

1. An output path that resolves to the same file as an input is an error naming both options
   (:func:`check_output_file`).
2. An existing output file is replaced only when the user passed ``--exist-ok``; even then the replacement is atomic
   (:func:`atomic_path`: a temporary file in the same folder, ``os.replace``d over the target; any exception,
   KeyboardInterrupt and SystemExit included, removes the temporary file and leaves the old content as it was).
3. A generated dataset folder is written only as :mod:`detector.data.synthetic.manifest` allows (its manifest lists
   what the generator wrote; another set or a user's file is never replaced).

Tools check before any expensive work; the writers then go through :func:`atomic_path` or its two shorthands.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

EXIST_OK = "--exist-ok"  # the one flag name, in every tool


class OutputFileError(ValueError):
    """An output would replace an input, an existing file (without ``--exist-ok``) or data a generator did not write;
    the message names the file, the option and what to do."""


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when ``a`` and ``b`` are the same file: equal resolved paths, or (both existing) the same inode."""
    pa, pb = Path(a), Path(b)
    if pa.resolve() == pb.resolve():
        return True
    try:
        return pa.exists() and pb.exists() and os.path.samefile(pa, pb)
    except OSError:
        return False


def check_output_file(
    path: str | Path,
    option: str,
    *,
    exist_ok: bool = False,
    inputs: Mapping[str, str | Path | None] | None = None,
    what: str | None = None,
) -> Path:
    """Rules 1 and 2 for one output file, before any work: raise :class:`OutputFileError` when ``path`` is the same
    file as one of ``inputs`` (``{option or label: path}``; None entries are skipped), is a folder, or exists and
    ``exist_ok`` is False. ``option`` names the option that sets ``path`` (e.g. ``"--out"``); ``what`` words the
    file in the message when it is not the option's value itself (e.g. ``"the video file"``). Returns the path."""
    out = Path(path)
    what = what or option
    for name, source in (inputs or {}).items():
        if source is not None and str(source) != "" and same_file(out, source):
            raise OutputFileError(
                f"{what} {out} is the same file as {name} {source}: an output never replaces an input; "
                f"choose another {option}"
            )
    if out.is_dir():
        raise OutputFileError(f"{what} {out} is a folder: give a file path in {option}")
    if not exist_ok and (out.exists() or out.is_symlink()):
        raise OutputFileError(f"{what} {out} already exists: pass {EXIST_OK} to replace it, or choose another {option}")
    return out


def temp_path(path: Path) -> Path:
    """The temporary file :func:`atomic_path` writes before renaming: hidden, in ``path``'s folder, with this
    process id and ``path``'s suffix (writers such as OpenCV pick the format from the suffix)."""
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def _fsync(path: Path, directory: bool = False) -> None:
    if directory and not hasattr(os, "O_DIRECTORY"):
        return  # Windows: directories cannot be opened; the rename is persisted by the file system
    fd = os.open(path, (os.O_RDONLY | os.O_DIRECTORY) if directory else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(
    path: str | Path, *, exist_ok: bool = True, option: str = "output", fsync: bool = True
) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` to write to; when the block ends normally the file is flushed to disk
    (``fsync``) and renamed over ``path`` (``os.replace``, atomic on one file system), so readers see the old file or
    the complete new one, never a part. Any exception (KeyboardInterrupt, SystemExit from a signal handler too)
    removes the temporary file, leaves ``path`` as it was and propagates. Missing parent folders are created.

    ``exist_ok=False``: a ``path`` that appeared while the block ran is not replaced (:class:`OutputFileError`
    naming ``option``); call :func:`check_output_file` before the work for the early error.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        if fsync:
            _fsync(tmp)
        if not exist_ok and (path.exists() or path.is_symlink()):
            raise OutputFileError(
                f"{option} {path} already exists: pass {EXIST_OK} to replace it, or choose another {option}"
            )
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        renamed = _naming_target(e, tmp, path)
        if renamed is None:
            raise
        raise renamed from None
    if fsync:
        _fsync(path.parent, directory=True)


def _naming_target(e: BaseException, tmp: Path, path: Path) -> BaseException | None:
    """``e`` reworded to name ``path`` where it names the temporary file ``tmp`` (a message never names a temporary
    file); None when it does not name it."""
    if isinstance(e, OSError) and e.filename is not None and str(e.filename) == str(tmp):
        return type(e)(e.errno, e.strerror, str(path))
    if isinstance(e, Exception) and str(tmp) in str(e):
        text = str(e).replace(str(tmp), str(path))
        try:
            return type(e)(text)
        except Exception:  # an exception class with another signature
            return RuntimeError(text)
    return None


def write_bytes_atomic(
    path: str | Path, data: bytes, *, exist_ok: bool = True, option: str = "output", fsync: bool = True
) -> Path:
    """Write ``data`` to ``path`` through :func:`atomic_path` (same keyword arguments). Returns ``Path(path)``."""
    with atomic_path(path, exist_ok=exist_ok, option=option, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(
    path: str | Path, text: str, *, exist_ok: bool = True, option: str = "output", fsync: bool = True
) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path` (same keyword arguments)."""
    return write_bytes_atomic(path, text.encode("utf-8"), exist_ok=exist_ok, option=option, fsync=fsync)


__all__ = [
    "EXIST_OK",
    "OutputFileError",
    "atomic_path",
    "check_output_file",
    "same_file",
    "temp_path",
    "write_bytes_atomic",
    "write_text_atomic",
]
