"""Logging for the command-line tools: progress on stdout, ``warning:``/``error:`` lines on stderr.

The library logs through ``logging.getLogger(__name__)`` and never configures handlers; each tool calls
:func:`configure_logging` once (``--quiet`` shows warnings and errors only, ``--verbose`` adds debug lines).
Python warnings raised from this project's code (``DatasetWarning``, skipped training steps, ...) print as one
``warning: ...`` line too; warnings from other packages keep Python's format (file, line and source line).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import TextIO


def _own_dirs() -> tuple[str, ...]:
    """Folders of this project's code: the ``detector`` and ``backbones`` packages and ``tools/`` beside them."""
    here = Path(__file__).resolve().parents[1]  # detector/ (this file: detector/cli/logging_setup.py)
    dirs = [here, here.parent / "tools"]
    spec = importlib.util.find_spec("backbones")
    if spec is not None and spec.origin is not None:
        dirs.append(Path(spec.origin).resolve().parent)
    return tuple(os.path.join(str(d), "") for d in dirs)  # with the trailing separator


_OWN_DIRS = _own_dirs()


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the tools: one ``warning: <message>`` line for warnings from our code, Python's
    ``warnings.formatwarning`` text (file, line, category, source line) for the others."""
    ours = str(Path(filename).resolve()).startswith(_OWN_DIRS)
    text = f"warning: {message}\n" if ours else warnings.formatwarning(message, category, filename, lineno, line)
    stream = file if file is not None else sys.stderr
    with contextlib.suppress(OSError):  # a closed stream: nowhere to report (Python's own showwarning does the same)
        stream.write(text)


class _PrefixFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"error: {text}"
        if record.levelno >= logging.WARNING:
            return f"warning: {text}"
        return text


class _ConsoleHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` / ``sys.stderr`` is when a record is emitted (tests, notebooks and
    ``contextlib.redirect_stdout`` swap them after logging was configured)."""

    def __init__(self, stream_name: str) -> None:
        super().__init__(getattr(sys, stream_name))
        self.stream_name = stream_name

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = getattr(sys, self.stream_name)
        super().emit(record)


class _MaxLevel(logging.Filter):
    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < self.level


def configure_logging(verbose: bool = False, quiet: bool = False) -> None:
    """Route the ``detector`` and ``backbones`` loggers: INFO/DEBUG to stdout, WARNING and above to stderr."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    out = _ConsoleHandler("stdout")
    out.addFilter(_MaxLevel(logging.WARNING))
    err = _ConsoleHandler("stderr")
    err.setLevel(logging.WARNING)
    for handler in (out, err):
        handler.setFormatter(_PrefixFormatter())
    for name in ("detector", "backbones"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [out, err]
        logger.setLevel(level)
        logger.propagate = False
    warnings.showwarning = _show_warning
