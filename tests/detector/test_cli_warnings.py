"""Python warnings under the command-line tools: ours as one ``warning:`` line, other packages' as Python shows them."""

import logging
import warnings
from pathlib import Path

import detector
from detector.cli.logging_setup import configure_logging
from detector.data.coco import DatasetWarning

OURS = str(Path(detector.__file__).resolve().parent / "data" / "dataset.py")
THEIRS = "/site-packages/albumentations/check_version.py"


def test_our_warnings_print_one_line_and_others_keep_pythons_format(capsys, monkeypatch) -> None:
    for name in ("detector", "backbones"):  # configure_logging reconfigures these loggers: restore them afterwards
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", list(logger.handlers))  # a copy: configure_logging edits in place
        monkeypatch.setattr(logger, "propagate", logger.propagate)
        monkeypatch.setattr(logger, "level", logger.level)
    with warnings.catch_warnings():  # restores warnings.showwarning afterwards
        warnings.simplefilter("always")
        configure_logging()
        warnings.warn_explicit("skipping unreadable image (index 3): bad.jpg", DatasetWarning, OURS, 191)
        warnings.warn_explicit("Error fetching version info", UserWarning, THEIRS, 147)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "warning: skipping unreadable image (index 3): bad.jpg"
    assert err[1] == f"{THEIRS}:147: UserWarning: Error fetching version info"
