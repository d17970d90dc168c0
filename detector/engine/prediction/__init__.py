"""Prediction: a detector from a checkpoint, inputs (images, videos, streams), inference, drawing and outputs."""
