"""Synthetic-set generators (not part of the data pipeline proper): the built-in shapes set, its demo video
with ground-truth tracks, the held-out sets, and what they share (COCO writer, manifest, memory check)."""
