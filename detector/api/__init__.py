"""The public API, re-exported by :mod:`detector`: ``load`` (a checkpoint or an exported file -> :class:`Model`
with ``predict``, ``evaluate``, ``export``), ``train`` (-> :class:`Run`) and the result types. Import these from
``detector``: the modules below may move between releases, these names stay."""

from detector.api.model import Model, load
from detector.api.results import Metrics, Result, Run
from detector.api.training import train

__all__ = ["Metrics", "Model", "Result", "Run", "load", "train"]
