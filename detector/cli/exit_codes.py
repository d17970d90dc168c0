"""The exit status of every command-line tool, one convention for all (docs/CLI.md, "Exit status").

======================  =====================================================================================
``EXIT_OK`` 0           the work is done
``EXIT_FAILED`` 1       the tool started and the work failed or found nothing: no readable image (detect), a
                        failed parity check (export), a failed download, an error that stopped training, fatal
                        dataset problems found (check_dataset), failed benchmark suite steps, an evaluation
                        engine that failed
``EXIT_USAGE`` 2        rejected before any work: a bad argument (argparse's own exit status), config, input file,
                        checkpoint or output path; one ``error:`` line on stderr
``EXIT_SIGINT`` 130     stopped by Ctrl-C (128 + SIGINT); one line on stderr, no traceback
``EXIT_SIGTERM`` 143    stopped by SIGTERM (128 + SIGTERM): train and study stop cleanly and say how to resume
======================  =====================================================================================

:data:`ERROR_CODES` maps exception classes onto these statuses, the same in every tool; :func:`run_tool` wraps a
tool's ``main`` so that an exception reaching it ends as one ``error: ...`` line on stderr and its status (a class
that is not in the table is a bug: its traceback is kept). :func:`exit_on_ctrl_c` is the older name of the same.
"""

from __future__ import annotations

import functools
import sys
from typing import Protocol

from detector.engine.interrupt import Terminated

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130  # 128 + SIGINT (2): the status a shell reports for a process ended by Ctrl-C
EXIT_SIGTERM = 143  # 128 + SIGTERM (15)

# (exception class, exit status, what it means); the first matching row wins, so subclasses come first. The
# library's convention: problems found before the work raise ValueError (ConfigError, OutputFileError,
# CheckpointError, ... are ValueErrors) or FileNotFoundError; failures during the work raise RuntimeError.
ERROR_CODES: tuple[tuple[type[BaseException], int, str], ...] = (
    (Terminated, EXIT_SIGTERM, "SIGTERM"),
    (KeyboardInterrupt, EXIT_SIGINT, "Ctrl-C"),
    (FileNotFoundError, EXIT_USAGE, "a missing input (file, folder, dataset)"),
    (IsADirectoryError, EXIT_USAGE, "a folder where a file is expected"),
    (NotADirectoryError, EXIT_USAGE, "a file where a folder is expected"),
    (PermissionError, EXIT_USAGE, "an input that cannot be read"),
    (ValueError, EXIT_USAGE, "a bad argument, config, input, checkpoint, device, backbone or output path"),
    (RuntimeError, EXIT_FAILED, "the work failed (an engine, a writer, a failed step)"),
    (OSError, EXIT_FAILED, "the system failed during the work (disk full, network)"),
)


def exit_code(exc: BaseException) -> int | None:
    """The exit status of ``exc`` by :data:`ERROR_CODES`; None when no row matches. (A tool that runs under
    :func:`detector.engine.interrupt.sigterm_as_interrupt` maps another error that surfaced after SIGTERM to
    143 itself, inside its block: train, study.)"""
    for cls, code, _ in ERROR_CODES:
        if isinstance(exc, cls):
            return code
    return None


def error_line(exc: BaseException) -> str:
    """The one stderr line for ``exc``: ``error: <message on one line>``."""
    if isinstance(exc, Terminated):
        return "error: stopped by SIGTERM"
    if isinstance(exc, KeyboardInterrupt):
        return "error: interrupted (Ctrl-C)"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"error: {text}"


class Main(Protocol):
    """A tool's entry point: ``main(argv=None) -> exit status`` (``argv`` None: ``sys.argv[1:]``)."""

    def __call__(self, argv: list[str] | None = None) -> int: ...


def run_tool(main: Main) -> Main:
    """``main`` with every exception of :data:`ERROR_CODES` turned into one :func:`error_line` on stderr and its
    exit status instead of a traceback. Statuses ``main`` returns and argparse's SystemExit pass through."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except BaseException as e:
            code = exit_code(e) if not isinstance(e, (SystemExit, GeneratorExit)) else None
            if code is None:
                raise
            print(error_line(e), file=sys.stderr, flush=True)
            return code

    return run


exit_on_ctrl_c = run_tool

# status -> (name, meaning), for the table in docs/CLI.md
STATUSES: dict[int, tuple[str, str]] = {
    EXIT_OK: ("EXIT_OK", "the work is done"),
    EXIT_FAILED: ("EXIT_FAILED", "the tool started and the work failed or found nothing (detect: no readable image; "
                  "export: the file does not reproduce PyTorch; check_dataset: fatal dataset problems; benchmark "
                  "suite: failed steps; a failed download or engine)"),
    EXIT_USAGE: ("EXIT_USAGE", "rejected before any work: a bad argument (argparse's own status), config, input, "
                 "checkpoint, device, backbone or output path"),
    EXIT_SIGINT: ("EXIT_SIGINT", "stopped by Ctrl-C (detect saves what it processed first)"),
    EXIT_SIGTERM: ("EXIT_SIGTERM", "stopped by SIGTERM (train and study stop cleanly and print the line to resume)"),
}  # fmt: skip


def exit_codes_markdown() -> str:
    """The "Exit status" section of docs/CLI.md: the statuses, then :data:`ERROR_CODES` (``python -m
    detector.cli.exit_codes`` prints it)."""
    lines = [
        "## Exit status",
        "",
        "Generated from `detector/cli/exit_codes.py` (`python -m detector.cli.exit_codes`): one convention for every",
        "tool. Each tool's `main` is wrapped by `run_tool`, which turns an exception into one `error: ...` line on",
        "stderr (no traceback) and the status of its class below, so the same error exits with the same status in",
        "every tool.",
        "",
        "| status | name | meaning |",
        "| --- | --- | --- |",
        *(f"| {code} | `{name}` | {meaning} |" for code, (name, meaning) in STATUSES.items()),
        "",
        "| exception (first match wins) | status | stands for |",
        "| --- | --- | --- |",
        *(f"| `{cls.__name__}` | {code} | {what} |" for cls, code, what in ERROR_CODES),
        "",
        "The library's errors are subclasses: `ConfigError`, `OutputFileError`, `CheckpointError`, `DetectError`,",
        "`ExportError`, `SourceError`, `DatasetError` are `ValueError`s (2); `DatasetNotFoundError` is a",
        "`FileNotFoundError` (2). After SIGTERM, train and study exit with 143 whatever error surfaces.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(exit_codes_markdown(), end="")
