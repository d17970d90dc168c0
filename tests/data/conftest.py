"""Small on-disk datasets for the data-pipeline tests."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import write_coco


@pytest.fixture
def tiny_coco(tmp_path: Path) -> tuple[Path, Path]:
    """4 images (64x48 px) with non-contiguous category ids 3, 7, 11; image 3 has only a crowd box, image 4 none."""
    img_dir = tmp_path / "images"
    img_dir.mkdir()
    images = []
    for i in range(1, 5):
        img = np.full((48, 64, 3), 40 * i, np.uint8)
        cv2.imwrite(str(img_dir / f"{i}.png"), img)
        images.append({"id": i, "file_name": f"{i}.png", "width": 64, "height": 48})
    anns = [
        {"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 5, 20, 10], "area": 200, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 11, "bbox": [0, 0, 8, 8], "area": 64, "iscrowd": 0},
        {"id": 3, "image_id": 2, "category_id": 3, "bbox": [30, 20, 10, 12], "area": 120, "iscrowd": 0},
        {"id": 4, "image_id": 3, "category_id": 3, "bbox": [1, 1, 30, 30], "area": 900, "iscrowd": 1},
    ]
    cats = [{"id": 11, "name": "kite"}, {"id": 3, "name": "car"}, {"id": 7, "name": "train"}]
    return write_coco(tmp_path, images, anns, cats), img_dir
