"""Which rules the error breakdown follows: ``paper`` (the default, :mod:`detector.engine.evaluation.errors.breakdown`:
the TIDE paper's test order and oracles, AP50 equal to pycocotools') or ``tidecv``
(:mod:`detector.engine.evaluation.errors.tidecv`: tidecv 1.0.1's, to compare with published figures). docs/ERRORS.md
says why and how they differ."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from detector.engine.evaluation.detections import Detections
from detector.engine.evaluation.errors.breakdown import ErrorBreakdown, error_breakdown
from detector.engine.evaluation.errors.tidecv import tidecv_breakdown

ERROR_RULES = ("paper", "tidecv")
DEFAULT_RULE = "paper"


def error_rule(value: bool | str | None, option: str = "--errors") -> str | None:
    """The rule named by an ``errors`` setting: False / None -> None (no breakdown), True -> the default rule, a
    name of ``ERROR_RULES`` -> that name. Raises ValueError naming ``option`` for anything else."""
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_RULE
    if value in ERROR_RULES:
        return str(value)
    raise ValueError(f"{option} must be one of {list(ERROR_RULES)}, got {value!r}")


def break_down(
    gt: Mapping[str, Any] | str | Path,
    detections: Sequence[Mapping[str, Any]] | Detections | str | Path,
    rule: str = DEFAULT_RULE,
    *,
    img_ids: Iterable[int] | None = None,
) -> ErrorBreakdown:
    """The error breakdown of ``detections`` by ``rule`` (``ERROR_RULES``); arguments as
    :func:`detector.engine.evaluation.errors.breakdown.error_breakdown`."""
    if rule == "tidecv":
        return tidecv_breakdown(gt, detections, img_ids=img_ids)
    if rule == "paper":
        return error_breakdown(gt, detections, img_ids=img_ids)
    raise ValueError(f"unknown error-breakdown rule {rule!r}: choose one of {list(ERROR_RULES)}")
