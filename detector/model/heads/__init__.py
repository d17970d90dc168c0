"""Head families, one folder each (head, loss, assigner, config, ``family.py`` registering it); importing this
package registers the built-in families with :mod:`detector.model.registry`."""

from detector.model.heads import decoupled, yolov4

__all__ = ["decoupled", "yolov4"]
