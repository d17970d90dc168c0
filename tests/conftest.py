"""Shared pytest setup: keep CPU tests fast and deterministic on small machines."""

import logging

import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def detector_log(caplog):
    """Captures what the ``detector`` loggers emit (INFO and above) as ``detector_log.text``, also after a tool's
    ``configure_logging`` stopped them from propagating to the root logger."""
    logger = logging.getLogger("detector")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="detector")
    yield caplog
    logger.removeHandler(caplog.handler)
