import cv2
import numpy as np
import pytest
import torch

from detector.config import AugmentConfig
from detector.data.dataset import DetectionDataset
from detector.data.transforms import box_candidates, fliplr, random_affine

COLOURS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255]], np.uint8)


class RectBase:
    """Stand-in source dataset: image k (S x S, grey) holds one filled rectangle of colour k, label k."""

    def __init__(self, size: int) -> None:
        rng = np.random.default_rng(0)
        self.items = []
        for k, colour in enumerate(COLOURS):
            img = np.full((size, size, 3), 114, np.uint8)
            x1, y1 = rng.integers(5, size // 2, 2)
            x2, y2 = x1 + rng.integers(20, size // 2), y1 + rng.integers(20, size // 2)
            img[y1:y2, x1:x2] = colour
            self.items.append((img, np.array([[x1, y1, x2, y2]], np.float32), np.array([k], np.int64), k + 1))
        self.image_ids = [it[3] for it in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def load_item(self, i):
        img, boxes, labels, image_id = self.items[i]
        return img.copy(), boxes.copy(), labels.copy(), image_id


def _colour_components(img_hwc: np.ndarray, colour: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Connected regions of (nearly) ``colour``: list of (pixel bbox xyxy in edge coordinates, pixel count)."""
    mask = (np.abs(img_hwc.astype(int) - colour.astype(int)).sum(-1) < 90).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return [(np.array([x, y, x + w, y + h], np.float32), int(a)) for x, y, w, h, a in stats[1:n]]


def test_mosaic_affine_flip_keep_boxes_on_their_pixels():
    size = 128
    aug = AugmentConfig(
        mosaic=1.0,
        degrees=10,
        translate=0.1,
        scale=0.3,
        shear=3,
        hsv_h=0,
        hsv_s=0,
        hsv_v=0,
        fliplr=0.5,
        photometric=0.0,
    )
    ds = DetectionDataset(RectBase(size), size, train=True, augment=aug, seed=3)
    tight = 0
    for index in range(30):
        ds.set_epoch(index // len(ds))
        img, targets, *_ = ds[index % len(ds)]
        img = img.permute(1, 2, 0).numpy()
        for k, colour in enumerate(COLOURS):
            comps = _colour_components(img, colour)
            matched = set()
            for box in targets[targets[:, 0] == k, 1:].numpy():
                inside = [
                    (j, c)
                    for j, c in enumerate(comps)
                    if (c[0][:2] >= box[:2] - 2.5).all() and (c[0][2:] <= box[2:] + 2.5).all()
                ]
                msg = f"sample {index}, label {k}: box {box}, regions {[c[0] for c in comps]}"
                assert inside, msg  # the box covers a drawn region of its colour
                j, (pix_box, _) = max(inside, key=lambda jc: jc[1][1])
                matched.add(j)
                # tight, except that a rotated box cut by the border stays loose along it (its corner is outside)
                if box[0] > 0 and box[1] > 0 and box[2] < size and box[3] < size:
                    np.testing.assert_allclose(box, pix_box, atol=2.5, err_msg=msg)
                    tight += 1
            for j, (pix_box, npix) in enumerate(comps):  # a region without a box was filtered: small or cut
                on_border = pix_box[0] <= 0 or pix_box[1] <= 0 or pix_box[2] >= size or pix_box[3] >= size
                assert j in matched or on_border or npix < 0.1 * 64 * 64 * 1.3**2 * 1.5, (index, k, pix_box)
    assert tight >= 10


def test_random_affine_identity_is_exact():
    rng = np.random.default_rng(0)
    img = np.zeros((64, 64, 3), np.uint8)
    img[10:30, 20:50] = 255
    out, boxes, labels = random_affine(
        img,
        np.array([[20, 10, 50, 30]], np.float32),
        np.array([4]),
        rng,
        out_size=64,
        degrees=0,
        translate=0,
        scale=0,
        shear=0,
    )
    np.testing.assert_array_equal(out, img)
    np.testing.assert_allclose(boxes, [[20, 10, 50, 30]], atol=1e-4)
    assert labels.tolist() == [4]


def test_fliplr_is_exact():
    img = np.zeros((8, 10, 3), np.uint8)
    img[:, 1:3] = 255
    out, boxes = fliplr(img, np.array([[1, 0, 3, 8]], np.float32))
    np.testing.assert_allclose(boxes, [[7, 0, 9, 8]])
    assert out[:, 7:9].min() == 255 and out[:, :7].max() == 0


def test_box_candidates_drop_tiny_thin_and_mostly_cut_boxes():
    before = np.array([[0, 0, 50, 50], [0, 0, 50, 50], [0, 0, 50, 50], [0, 0, 50, 50]], np.float32)
    after = np.array([[0, 0, 40, 40], [0, 0, 1.5, 40], [0, 0, 10, 10], [0, 0, 45, 2]], np.float32)
    assert box_candidates(before, after).tolist() == [True, False, False, False]


def test_train_samples_are_deterministic_and_change_with_epoch():
    torch.manual_seed(0)
    ds = DetectionDataset(RectBase(64), 64, train=True, augment=AugmentConfig(mixup=0.5, photometric=0.5), seed=1)
    a, b = ds[2], ds[2]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    ds.set_epoch(1)
    assert not torch.equal(ds[2][0], a[0])
    assert a[0].dtype == torch.uint8 and a[0].shape == (3, 64, 64) and a[1].shape[1] == 5


def test_close_mosaic_switches_off_for_last_epochs():
    aug = AugmentConfig(mosaic=1.0, close_mosaic=2)
    ds = DetectionDataset(RectBase(64), 64, train=True, augment=aug)
    ds.set_epoch(7, total_epochs=10)
    assert ds.mosaic_enabled
    ds.set_epoch(8, total_epochs=10)
    assert not ds.mosaic_enabled
    img, targets, image_id, lb, orig = ds[0]
    assert orig.tolist() == [64, 64] and lb[0].item() == pytest.approx(1.0)  # letterbox path: one source image
    assert targets[:, 0].unique().tolist() in ([0.0], [])
