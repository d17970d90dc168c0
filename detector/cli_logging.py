"""Logging for the command-line tools: progress on stdout, ``warning:``/``error:`` lines on stderr.

The library logs through ``logging.getLogger(__name__)`` and never configures handlers; each tool calls
:func:`configure_logging` once (``--quiet`` shows warnings and errors only, ``--verbose`` adds debug lines).
"""

from __future__ import annotations

import logging
import sys


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
