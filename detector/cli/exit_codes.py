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

:func:`exit_on_ctrl_c` wraps a tool's ``main`` so that Ctrl-C anywhere in it ends with :data:`EXIT_SIGINT`.
"""

from __future__ import annotations

import functools
import sys
from typing import Protocol

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130  # 128 + SIGINT (2): the status a shell reports for a process ended by Ctrl-C
EXIT_SIGTERM = 143  # 128 + SIGTERM (15)


class Main(Protocol):
    """A tool's entry point: ``main(argv=None) -> exit status`` (``argv`` None: ``sys.argv[1:]``)."""

    def __call__(self, argv: list[str] | None = None) -> int: ...


def exit_on_ctrl_c(main: Main) -> Main:
    """``main`` with Ctrl-C (``KeyboardInterrupt``) turned into one ``error: interrupted (Ctrl-C)`` line on stderr
    and :data:`EXIT_SIGINT`, instead of a traceback. A tool that handles the interrupt itself (to say how to resume)
    returns its own status; this only catches what reaches it."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except KeyboardInterrupt:
            print("error: interrupted (Ctrl-C)", file=sys.stderr, flush=True)
            return EXIT_SIGINT

    return run
