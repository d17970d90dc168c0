import torch

from detector.config import PredictConfig
from detector.model.heads.yolov4.head import YoloHead
from detector.model.postprocess import postprocess
from tests.helpers import SMALL_ANCHORS

NEG = -20.0


def _head_and_empty_raw(num_classes=2, hw=(64, 96)):
    head = YoloHead([4, 4, 4], [8, 16, 32], SMALL_ANCHORS, num_classes)
    raw = []
    for s in (8, 16, 32):
        r = torch.zeros(1, 3, hw[0] // s, hw[1] // s, 5 + num_classes)
        r[..., 4:] = NEG  # no objects, no classes
        raw.append(r)
    return head, raw


def _put(raw, level, anchor, gj, gi, obj, cls_logits, twh=(0.0, 0.0)):
    raw[level][0, anchor, gj, gi, 2:4] = torch.tensor(twh)
    raw[level][0, anchor, gj, gi, 4] = obj
    raw[level][0, anchor, gj, gi, 5:] = torch.tensor(cls_logits)


def test_decode_and_nms_give_expected_boxes():
    head, raw = _head_and_empty_raw()
    _put(raw, 0, 1, 2, 3, 8.0, [NEG, 8.0])  # class 1 box 20 x 16 at (28, 20)
    _put(raw, 0, 1, 2, 4, 2.0, [NEG, 8.0])  # same class, one cell right (IoU 0.43): suppressed at 0.3
    _put(raw, 0, 2, 2, 3, 6.0, [8.0, NEG])  # class 0 on top of the first: other class, kept
    _put(raw, 1, 0, 1, 1, NEG, [8.0, 8.0])  # confident class but no objectness: dropped
    dets = postprocess(head.decode(raw), PredictConfig(conf=0.25, iou=0.3, max_det=10))
    assert len(dets) == 1
    d = dets[0]
    assert d["labels"].dtype == torch.int64 and d["boxes_xyxy"].dtype == torch.float32
    assert d["labels"].tolist() == [1, 0]
    expected = torch.tensor([[18.0, 12.0, 38.0, 28.0], [20.0, 8.0, 36.0, 32.0]])  # anchors 20x16 and 16x24
    assert torch.allclose(d["boxes_xyxy"], expected, atol=1e-3)
    assert d["scores"][0] > d["scores"][1] > 0.25
    # a looser NMS keeps the shifted duplicate
    loose = postprocess(head.decode(raw), PredictConfig(conf=0.25, iou=0.5))[0]
    assert len(loose["scores"]) == 3


def test_multi_label_max_det_and_conf():
    head, raw = _head_and_empty_raw()
    _put(raw, 2, 0, 0, 0, 8.0, [8.0, 0.0])  # class 0 ~1.0, class 1 0.5
    _put(raw, 1, 2, 2, 4, 8.0, [NEG, 1.0])  # class 1 ~0.73
    single = postprocess(head.decode(raw), PredictConfig(conf=0.25))[0]
    assert sorted(single["labels"].tolist()) == [0, 1] and len(single["labels"]) == 2
    multi = postprocess(head.decode(raw), PredictConfig(conf=0.25, multi_label=True))[0]
    assert sorted(multi["labels"].tolist()) == [0, 1, 1]
    top1 = postprocess(head.decode(raw), PredictConfig(conf=0.25, multi_label=True, max_det=1))[0]
    assert top1["labels"].tolist() == [0]
    none = postprocess(head.decode(raw), PredictConfig(conf=0.9995))[0]
    assert none["boxes_xyxy"].shape == (0, 4) and none["labels"].shape == (0,)


def test_boxes_mapped_to_original_pixels():
    head, raw = _head_and_empty_raw()
    _put(raw, 0, 1, 2, 3, 8.0, [NEG, 8.0])  # input box (18, 12, 38, 28)
    lb = torch.tensor([[0.5, 0.0, 8.0]])  # original 112 x 192 (h, w) letterboxed into 64 x 96 with pad_y 8
    d = postprocess(head.decode(raw), PredictConfig(), lb_params=lb, orig_sizes=torch.tensor([[112, 192]]))[0]
    assert torch.allclose(d["boxes_xyxy"], torch.tensor([[36.0, 8.0, 76.0, 40.0]]), atol=1e-3)
