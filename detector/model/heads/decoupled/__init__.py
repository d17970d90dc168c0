"""The decoupled head family: anchor-free head (``head.py``), loss (``loss.py``), task-aligned assigner
(``assigner.py``), config (``config.py``), registered in ``family.py``."""

from detector.model.heads.decoupled.family import DecoupledFamily

__all__ = ["DecoupledFamily"]
