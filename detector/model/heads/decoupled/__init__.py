"""The decoupled head family: anchor-free head (``head.py``), loss (``loss.py``), task-aligned assigner
(``assigner.py``), registered in ``family.py``; its ``model.head`` class is in ``detector/config/head_families.py``."""

from detector.model.heads.decoupled.family import DecoupledFamily

__all__ = ["DecoupledFamily"]
