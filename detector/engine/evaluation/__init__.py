"""Evaluation: COCO box metrics identical to pycocotools', input checks, model evaluation, evaluation plots."""
