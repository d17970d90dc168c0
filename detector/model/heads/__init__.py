"""Head families, one folder each (head, loss, assigner, ``family.py`` registering it; the built-in
families' ``model.head`` classes are in ``detector/config/head_families.py``); importing this
package registers the built-in families with :mod:`detector.model.registry`."""

from detector.model.heads import decoupled, yolov4

__all__ = ["decoupled", "yolov4"]
