"""Auto-anchor at train start: box sizes at the training size, BPR report, in-place replacement when asked."""

from __future__ import annotations

import numpy as np
import torch

from detector.data.coco import coco_from_dict
from detector.model.heads.yolov4.auto_anchor import dataset_box_sizes, fit_anchors
from detector.model.heads.yolov4.head import YoloHead


def _coco(sizes: list[tuple[float, float]], image_wh=(200, 100)) -> object:
    images = [{"id": 1, "width": image_wh[0], "height": image_wh[1], "file_name": "a.jpg"}]
    anns = [
        {"id": i + 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, w, h], "area": w * h, "iscrowd": 0}
        for i, (w, h) in enumerate(sizes)
    ]
    anns.append({"id": 99, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 1})
    return coco_from_dict({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}]})


def _head(anchors) -> YoloHead:
    return YoloHead([8, 8, 8], [8, 16, 32], anchors, num_classes=1)


def test_box_sizes_follow_the_letterbox_scale_and_skip_crowds():
    wh = dataset_box_sizes(_coco([(20, 10), (100, 50)]), img_size=400)  # 200 px wide image -> scale 2
    np.testing.assert_allclose(wh, [[40, 20], [200, 100]])


def test_fit_anchors_reports_and_replaces_only_when_asked():
    rng = np.random.default_rng(0)
    sizes = [(float(w), float(w) * 3) for w in rng.uniform(4, 30, 300)]  # tall boxes, 4-30 px wide
    coco = _coco(sizes, image_wh=(100, 100))
    far = [[300, 300, 320, 320, 340, 340], [360, 360, 380, 380, 400, 400], [420, 420, 440, 440, 460, 460]]
    head = _head(far)
    before = head.anchors.clone()
    report = fit_anchors(head, coco, img_size=100, anchor_t=4.0, replace=False)
    assert report["anchors"] is None and report["bpr_before"] < 0.1
    assert "auto_anchor=true" in report["message"]
    assert torch.equal(head.anchors, before)  # measuring never changes the model
    report = fit_anchors(head, coco, img_size=100, anchor_t=4.0, replace=True)
    assert report["bpr_after"] > 0.98 > report["bpr_before"]
    assert torch.allclose(head.anchors, torch.tensor(report["anchors"]).view(3, 3, 2), atol=0.06)
    assert (head.anchors[..., 1] > head.anchors[..., 0]).all()  # the new anchors are tall like the boxes


def test_fit_anchors_keeps_fitting_anchors():
    coco = _coco([(16, 16)] * 20, image_wh=(100, 100))
    head = _head([[10, 10, 16, 16, 20, 20], [30, 30, 40, 40, 50, 50], [60, 60, 70, 70, 80, 80]])
    before = head.anchors.clone()
    report = fit_anchors(head, coco, img_size=100, anchor_t=4.0, replace=True)
    assert report["anchors"] is None and report["bpr_before"] == 1.0
    assert torch.equal(head.anchors, before)
