"""The argument parser of every tool: options and ``key=value`` overrides in any order.

:class:`ToolParser` parses with ``parse_known_intermixed_args``, so ``train.py CFG --quiet train.epochs=1`` is the
same as ``train.py CFG train.epochs=1 --quiet``; its subcommand parsers (``benchmark.py detector CFG --device cpu
train.batch_size=2``) are ToolParsers too.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


class ToolParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose positionals (the config, its ``key=value`` overrides) may come between, before or
    after the options."""

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        if self._intermixing or self._subparsers is not None:  # the inner passes; subcommands intermix themselves
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False
