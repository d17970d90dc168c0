"""The manifest of a generated dataset folder: the generator's parameters and every file it wrote, with its bytes'
SHA-1, so a generator can tell its own earlier files from the user's.

A generator (``make_shapes``, ``make_heldout``) calls :func:`prepare_folder` before writing anything. The manifest
(``shapes_meta.json`` / ``heldout_meta.json``) is ``{**params, "version", "complete", "files": {relative path:
sha1 or ""}}``: written first with ``complete: false`` and the names it is about to write (hash ``""``), and again
at the end with every file's hash. The rules (docs/DATA.md, "Generated data never replaces data"):

- a folder without a manifest that holds files is the user's: refused unless ``exist_ok``;
- a manifest with other parameters is *another set* (a checkpoint may have been trained on it): refused, naming the
  difference, unless ``exist_ok``;
- a file the manifest does not list, or whose bytes differ from the recorded hash, is the user's: never removed,
  and refused (named) when the new set would write a file of that name, unless ``exist_ok``;
- the files the manifest lists with their recorded bytes (or, for an interrupted run, by name) are removed before
  the new set is written, so nothing stale stays.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from detector.output_files import EXIST_OK, OutputFileError, write_text_atomic

PARAM_SKIP = ("version", "complete", "files", "stats")  # manifest keys that are not generation parameters


def file_sha1(path: Path) -> str:
    """Hex SHA-1 of the bytes of ``path``."""
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(root: Path, meta_file: str) -> dict | None:
    """``root/meta_file`` as a dict when it is a generator's metadata (a JSON object with ``version``), else None."""
    try:
        meta = json.loads((root / meta_file).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and "version" in meta else None


def manifest_params(meta: dict) -> dict:
    """The generation parameters of a manifest, ``version`` included (no file list, no statistics)."""
    return {k: v for k, v in meta.items() if k not in PARAM_SKIP or k == "version"}


def param_difference(found: dict, wanted: dict) -> str:
    """``"num_train 8 (asked 12), img_size 64 (asked 256)"``: the parameters where ``found`` and ``wanted`` differ."""
    keys = [k for k in wanted if found.get(k) != wanted[k]] + [k for k in found if k not in wanted]
    return ", ".join(f"{k} {found.get(k, '<none>')} (asked {wanted.get(k, '<none>')})" for k in keys)


def _files(root: Path, ignore: Iterable[str], meta_file: str) -> list[str]:
    skip = set(ignore)
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if rel.parts[0] in skip or rel.as_posix() == meta_file or not (p.is_file() or p.is_symlink()):
            continue
        out.append(rel.as_posix())
    return sorted(out)


def own_files(root: Path, meta: dict, meta_file: str, ignore: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """``(ours, users)``: files under ``root`` (relative posix paths; ``ignore``d top-level entries and the manifest
    itself excluded) that the manifest ``meta`` lists with their recorded bytes, and all the others. A manifest of an
    interrupted run (``complete`` false) lists names without hashes: its named files count as its own."""
    files = meta.get("files")
    listed: dict[str, str] = files if isinstance(files, dict) else {}
    ours: list[str] = []
    users: list[str] = []
    for rel in _files(root, ignore, meta_file):
        digest = listed.get(rel)
        p = root / rel
        own = digest is not None and not p.is_symlink() and (digest == "" or digest == file_sha1(p))
        (ours if own else users).append(rel)
    return ours, users


def _shown(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def prepare_folder(
    root: Path,
    meta_file: str,
    params: dict,
    planned: list[str],
    *,
    what: str,
    label: str,
    name: str,
    advice: str,
    exist_ok: bool = False,
    ignore: Iterable[str] = (),
) -> None:
    """Before a generator writes ``planned`` (relative paths) with ``params`` (``version`` included) into ``root``:
    apply the rules of the module doc, remove the earlier set's own files, and write the manifest of the run
    (``complete`` false). Raises :class:`OutputFileError` (``label`` names the setting and folder, ``name`` the
    setting alone, ``advice`` what to do) when ``root`` is a file or holds data the rules protect."""
    ignore = tuple(ignore)
    if root.exists() and not root.is_dir():
        raise OutputFileError(f"{label} is a file, not a folder: set {name} to a folder")
    meta = read_manifest(root, meta_file)
    present = _files(root, ignore, meta_file) if root.is_dir() else []
    if meta is None:
        if present and not exist_ok:
            raise OutputFileError(
                f"{label} holds files that are not a generated {what} ({_shown(present)}; no valid {meta_file}); "
                f"{advice}"
            )
        ours: list[str] = []
    else:
        diff = param_difference(manifest_params(meta), params)
        if diff and not exist_ok:
            raise OutputFileError(
                f"{label} holds another generated {what} ({diff}); a generated set is never replaced by another "
                f"(a model may have been trained on it): choose another {name}, or pass {EXIST_OK} to replace it"
            )
        if "files" not in meta and not exist_ok:
            raise OutputFileError(
                f"{label} holds a {what} written by an older version, without the list of its files in {meta_file}: "
                f"remove the folder, choose another {name}, or pass {EXIST_OK} to replace it"
            )
        ours, users = own_files(root, meta, meta_file, ignore) if "files" in meta else (present, [])
        clash = sorted(set(users) & set(planned))
        if clash and not exist_ok:
            raise OutputFileError(
                f"{label}: {_shown(clash)} would be overwritten but {'is' if len(clash) == 1 else 'are'} not "
                f"{'a file' if len(clash) == 1 else 'files'} of the earlier {what} (not listed in {meta_file}, or "
                f"changed since): a generator never writes over files it did not write; move them, choose another "
                f"{name}, or pass {EXIST_OK} to replace them"
            )
    for rel in ours:
        (root / rel).unlink()
    _prune_empty(root, ours)
    root.mkdir(parents=True, exist_ok=True)
    write_manifest(root, meta_file, params, {rel: "" for rel in planned}, complete=False)


def _prune_empty(root: Path, removed: list[str]) -> None:
    folders = {q for rel in removed for q in (root / rel).parents if root in q.parents}
    for folder in sorted(folders, key=lambda q: len(q.parts), reverse=True):  # deepest first
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def write_manifest(
    root: Path, meta_file: str, params: dict, files: dict[str, str], *, complete: bool, extra: dict | None = None
) -> None:
    """Write ``root/meta_file``: ``{**params, **extra, "complete", "files"}`` (atomic)."""
    meta = {**params, **(extra or {}), "complete": complete, "files": files}
    write_text_atomic(root / meta_file, json.dumps(meta, indent=0), fsync=False)


def finish_manifest(root: Path, meta_file: str, params: dict, written: list[str], extra: dict | None = None) -> None:
    """The manifest of a finished run: every file in ``written`` with the SHA-1 of its bytes, ``complete`` true;
    ``extra`` (e.g. statistics) is stored beside the parameters."""
    files = {rel: file_sha1(root / rel) for rel in written}
    write_manifest(root, meta_file, params, files, complete=True, extra=extra)


__all__ = [
    "file_sha1",
    "finish_manifest",
    "manifest_params",
    "own_files",
    "param_difference",
    "prepare_folder",
    "read_manifest",
    "write_manifest",
]
