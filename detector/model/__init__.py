"""The network: the Detector (backbone + neck + head, ``detector.py``), its layers (``layers.py``), the neck
(``neck.py``), the head families (``heads/``) and their registry (``registry.py``), post-processing (NMS,
``postprocess.py``), BatchNorm folding (``fuse.py``, ``pointwise_gemm.py``), the size summary (``summary.py``) and
the loader of a trainer checkpoint (``checkpoint_io.py``). ``from detector.model import Detector, build_model`` is
the public path of ``detector.py``'s names; the other modules are imported by their own paths."""

from detector.model import heads  # noqa: F401 - registers the built-in head families
from detector.model.detector import Detector, build_model

__all__ = ["Detector", "build_model"]
