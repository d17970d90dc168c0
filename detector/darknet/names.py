"""Class names of darknet models (``.names`` files) and the COCO category ids of COCO-trained ones."""

from __future__ import annotations

from pathlib import Path

# COCO 2017 detection categories: (category id, official name), in id order -- the order of darknet's coco.names.
COCO_CATEGORIES: tuple[tuple[int, str], ...] = tuple(
    enumerate(
        ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
         "fire hydrant"],
        start=1,
    )
) + tuple(
    enumerate(
        ["stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear",
         "zebra", "giraffe"],
        start=13,
    )
) + ((27, "backpack"), (28, "umbrella")) + tuple(
    enumerate(
        ["handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
         "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle"],
        start=31,
    )
) + tuple(
    enumerate(
        ["wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli",
         "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed"],
        start=46,
    )
) + ((67, "dining table"), (70, "toilet")) + tuple(
    enumerate(
        ["tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
         "refrigerator"],
        start=72,
    )
) + tuple(
    enumerate(["book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"], start=84)
)  # fmt: skip

# darknet's coco.names spells six categories the PASCAL VOC way
DARKNET_ALIASES = {
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "tvmonitor": "tv",
}


def read_names(path: str | Path, num_classes: int) -> list[str]:
    """Class names from a ``.names`` file (one per line; blank lines at the end are ignored). The count must equal
    ``num_classes`` (the ``classes=`` of the cfg); the error names the file and both numbers."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"names file not found: {path}")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    while names and not names[-1]:
        names.pop()
    if len(names) != num_classes:
        raise ValueError(
            f"{path}: {len(names)} names but the cfg has classes={num_classes}; give the names file the model was "
            "trained with (one class name per line)"
        )
    empty = [i + 1 for i, n in enumerate(names) if not n]
    if empty:
        raise ValueError(f"{path}: line {empty[0]} is empty; every class needs a name")
    return names


def category_ids(names: list[str]) -> list[int]:
    """COCO category ids when ``names`` are COCO's 80 classes in order (official or darknet spellings), else
    ``0 .. C-1``."""
    if len(names) == len(COCO_CATEGORIES):
        canonical = [DARKNET_ALIASES.get(n.strip().lower(), n.strip().lower()) for n in names]
        if canonical == [name for _, name in COCO_CATEGORIES]:
            return [cat_id for cat_id, _ in COCO_CATEGORIES]
    return list(range(len(names)))
