"""Allowed ranges of numbers (:class:`Range`, and the common ones by name), and the check of a config value.

A config key declares its range with ``option(..., range=AT_LEAST_1)`` (:mod:`detector.config.schema`); a value
outside it is a :class:`detector.config.ConfigError` that names the key, the range and the value
(``key 'train.epochs' must be >= 1, got -3``), instead of a ``ZeroDivisionError`` deep in the trainer or a run that
"trains" for -3 epochs. List-valued keys (``model.neck.widths``, ``model.head.anchors``) are checked element
by element. A key that declares no range accepts any value of its type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """``lo <= v <= hi`` (``<`` where ``lo_open`` / ``hi_open``; None: unbounded), a multiple of ``multiple_of``."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    multiple_of: int | None = None

    def contains(self, v: float) -> bool:
        if not math.isfinite(v):
            return False
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        if self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi):
            return False
        return self.multiple_of is None or v % self.multiple_of == 0

    def describe(self) -> str:
        """``'>= 1'``, ``'> 0'``, ``'in [0, 1]'``, ``'in (0, 1)'``; ``', a multiple of 32'`` appended when set."""
        if self.lo is not None and self.hi is not None:
            text = f"in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"
        elif self.lo is not None:
            text = f"{'>' if self.lo_open else '>='} {self.lo:g}"
        elif self.hi is not None:
            text = f"{'<' if self.hi_open else '<='} {self.hi:g}"
        else:
            text = "finite"
        return text + (f" and a multiple of {self.multiple_of}" if self.multiple_of else "")


AT_LEAST_0 = Range(lo=0)
AT_LEAST_1 = Range(lo=1)
POSITIVE = Range(lo=0, lo_open=True)
FRACTION = Range(lo=0, hi=1)  # probabilities, thresholds, ratios
OPEN_FRACTION = Range(lo=0, hi=1, lo_open=True, hi_open=True)


def range_problem(key: str, value: Any, allowed: Range | None) -> str | None:
    """None when ``value`` (a number, None, or a possibly nested list of numbers) fits ``allowed`` (None: any);
    else the message ``"'<key>' must be <range>, got <value>"`` naming the offending element (``key[i][j]``)."""
    return None if allowed is None or value is None else _element_problem(key, value, allowed)


def _element_problem(key: str, value: Any, allowed: Range) -> str | None:
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            problem = _element_problem(f"{key}[{i}]", item, allowed)
            if problem:
                return problem
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or allowed.contains(float(value)):
        return None
    return f"'{key}' must be {allowed.describe()}, got {value!r}"
