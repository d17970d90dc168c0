import cv2
import numpy as np
import pytest
import torch

from detector.config import AugmentConfig, Config, DataConfig, EvalConfig, ShapesConfig, SplitConfig, TrainConfig
from detector.data.coco import CocoDetection, DatasetWarning
from detector.data.dataset import DetectionDataset
from detector.data.loader import (
    DatasetNotFoundError,
    build_dataloader,
    build_dataset,
    make_dataloader,
    set_loader_epoch,
)
from detector.data.synthetic.shapes import make_shapes
from detector.data.synthetic.shapes_setup import shapes_split_paths


@pytest.fixture(scope="module")
def shapes_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    make_shapes(root, num_train=12, num_val=4, img_size=96, seed=0)
    return root


def _train_ds(root, **kw):
    base = CocoDetection(root / "train.json", root / "train" / "images")
    return DetectionDataset(base, 64, train=True, augment=AugmentConfig(mixup=0.3, degrees=5), seed=7, **kw)


def _batches(loader, epochs=(0, 1)):
    out = []
    for e in epochs:
        set_loader_epoch(loader, e)
        out += list(loader)
    return out


def test_collate_format(shapes_dir):
    torch.manual_seed(0)
    loader = make_dataloader(_train_ds(shapes_dir), 4, train=True)
    batch = next(iter(loader))
    assert set(batch) == {"images", "targets", "image_ids", "lb_params", "orig_sizes"}
    assert batch["images"].dtype == torch.uint8 and batch["images"].shape == (4, 3, 64, 64)
    t = batch["targets"]
    assert t.dtype == torch.float32 and t.shape[1] == 6 and len(t) > 0
    assert set(t[:, 0].long().tolist()) <= {0, 1, 2, 3} and (t[:, 1] >= 0).all() and (t[:, 1] < 6).all()
    assert (t[:, 4] > t[:, 2]).all() and (t[:, 5] > t[:, 3]).all() and t[:, 2:].min() >= 0 and t[:, 2:].max() <= 64
    assert batch["image_ids"].dtype == torch.int64 and batch["image_ids"].shape == (4,)
    assert batch["lb_params"].shape == (4, 3) and batch["lb_params"].dtype == torch.float32
    assert batch["orig_sizes"].shape == (4, 2) and batch["orig_sizes"].dtype == torch.int64


def test_collate_keeps_pixels_and_pads_smaller_images_with_114():
    from detector.data.loader import collate

    rng = np.random.default_rng(0)
    hwc = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((32, 64), (64, 48), (64, 64))]
    empty = torch.zeros((0, 5))
    samples = [
        (torch.from_numpy(a).permute(2, 0, 1), empty, i, torch.tensor([1.0, 0, 0]), torch.tensor([64, 64]))
        for i, a in enumerate(hwc)
    ]
    images = collate(samples)["images"]
    assert images.shape == (3, 3, 64, 64) and images.dtype == torch.uint8
    for b, a in enumerate(hwc):
        h, w = a.shape[:2]
        assert torch.equal(images[b, :, :h, :w], torch.from_numpy(a).permute(2, 0, 1))
        assert (images[b, :, h:, :] == 114).all() and (images[b, :, :, w:] == 114).all()
    contiguous = [(s[0].contiguous(), *s[1:]) for s in samples]  # the samples' memory layout does not matter
    assert torch.equal(collate(contiguous)["images"], images)


def test_same_seed_same_batches_for_0_and_2_workers(shapes_dir):
    torch.manual_seed(0)
    a = _batches(make_dataloader(_train_ds(shapes_dir), 4, train=True, workers=0))
    b = _batches(make_dataloader(_train_ds(shapes_dir), 4, train=True, workers=2))
    assert len(a) == len(b) == 6
    for x, y in zip(a, b, strict=True):
        for key in x:
            assert torch.equal(x[key], y[key]), key
    assert not torch.equal(a[0]["images"], a[3]["images"])  # epochs differ


def test_close_mosaic_reaches_persistent_workers(shapes_dir):
    ds = _train_ds(shapes_dir)
    ds.aug.close_mosaic = 1
    loader = make_dataloader(ds, 4, train=True, workers=2, persistent_workers=True)
    set_loader_epoch(loader, 0, total_epochs=2)
    first = list(loader)
    assert all((b["lb_params"][:, 0] == 1).all() for b in first)  # mosaic samples
    set_loader_epoch(loader, 1, total_epochs=2)
    last = list(loader)
    assert not ds.mosaic_enabled
    assert all((b["lb_params"][:, 0] < 1).all() for b in last)  # letterboxed single images (96 px -> 64 px)


def test_bad_image_mid_epoch_is_skipped_not_fatal(shapes_dir, tmp_path):
    ds = _train_ds(shapes_dir)
    victim = ds.base.records[3].path
    backup = victim.read_bytes()
    try:
        victim.write_bytes(backup[:100])  # corrupted after the doctor scan
        with pytest.warns(DatasetWarning, match="unreadable"):
            batches = list(make_dataloader(ds, 4, train=True))
        assert len(batches) == 3 and ds.num_bad_images >= 1
        val = DetectionDataset(ds.base, 64, train=False)
        with pytest.warns(DatasetWarning):
            img, targets, image_id, _, _ = val[3]
        assert image_id == ds.base.image_ids[3] and len(targets) == 0 and (img == 114).all()
    finally:
        victim.write_bytes(backup)


def _cfg(data: DataConfig) -> Config:
    return Config(data=data, train=TrainConfig(batch_size=2, workers=0, seed=0), eval=EvalConfig(batch_size=3))


def test_build_dataset_from_cfg_and_shapes(tmp_path):
    paths = shapes_split_paths(tmp_path / "s")
    data = DataConfig(
        format="coco",
        train=SplitConfig(**paths["train"]),
        val=SplitConfig(**paths["val"]),
        shapes=ShapesConfig(root=str(tmp_path / "s"), num_train=6, num_val=3, img_size=64, seed=1),
        img_size=64,
        augment=AugmentConfig(mosaic=0.0, fliplr=0.0),
    )
    cfg = _cfg(data)
    val = build_dataset(cfg, "val")
    assert data.val.ann == paths["val"]["ann"] and len(val) == 3 and not val.train
    assert val.num_classes == 6 and val.cat_ids == [1, 2, 3, 4, 5, 6] and sorted(val.coco.getImgIds()) == [1, 2, 3]
    batch = next(iter(build_dataloader(val, cfg, "val")))
    assert batch["images"].shape == (3, 3, 64, 64)
    train = build_dataset(cfg, "train")
    assert train.train and train.aug.mosaic == 0.0 and train.aug.hsv_s == 0.7


def test_missing_data_error_names_key_path_and_download(tmp_path):
    data = DataConfig(train=SplitConfig(ann=str(tmp_path / "coco/annotations/instances_train2017.json"), images="x"))
    with pytest.raises(DatasetNotFoundError) as e:
        build_dataset(_cfg(data), "train")
    msg = str(e.value)
    assert "data.train.ann" in msg and "instances_train2017.json" in msg and "tools/download_coco.py" in msg


def test_rect_val_batches_pad_to_common_size(tmp_path):
    d = tmp_path / "i"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), np.zeros((32, 96, 3), np.uint8))
    cv2.imwrite(str(d / "b.png"), np.zeros((96, 48, 3), np.uint8))
    from tests.helpers import write_coco

    imgs = [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}]
    ann = write_coco(tmp_path, imgs, [], [{"id": 1, "name": "x"}])
    ds = DetectionDataset(CocoDetection(ann, d), 96, train=False, rect=True)
    assert ds[0][0].shape == (3, 32, 96) and ds[1][0].shape == (3, 96, 64)
    batch = next(iter(make_dataloader(ds, 2, train=False)))
    assert batch["images"].shape == (2, 3, 96, 96) and batch["targets"].shape == (0, 6)


def test_sampler_num_samples_chains_epoch_orders_into_one_pass():
    from detector.data.loader import EpochShuffleSampler

    default = EpochShuffleSampler(5, seed=3)
    assert len(default) == 5 and sorted(default) == list(range(5))
    long = EpochShuffleSampler(5, seed=3, num_samples=12)
    long.set_epoch(2)
    order = list(long)
    assert len(long) == len(order) == 12
    epoch2, epoch3 = EpochShuffleSampler(5, seed=3), EpochShuffleSampler(5, seed=3)
    epoch2.set_epoch(2)
    epoch3.set_epoch(3)
    assert order[:5] == list(epoch2) and order[5:10] == list(epoch3)  # epoch 2's order, then epoch 3's, ...
    assert len(EpochShuffleSampler(0, num_samples=4)) == 0 and list(EpochShuffleSampler(0, num_samples=4)) == []


def test_loader_num_samples_gives_more_batches_than_the_dataset(shapes_dir):
    loader = make_dataloader(_train_ds(shapes_dir), 4, train=True, workers=0, num_samples=20)
    assert [len(b["image_ids"]) for b in loader] == [4] * 5  # 12 images, 20 samples in one pass
    with pytest.raises(ValueError, match="num_samples"):
        make_dataloader(_train_ds(shapes_dir), 4, train=False, num_samples=20)


def test_workers_fork_unless_cuda_started(shapes_dir, monkeypatch):
    """A process that already started CUDA starts loader workers by forkserver (fork would copy CUDA's threads:
    deadlocks, and a warning per worker); otherwise the platform default (fork: fast, no pickling)."""
    ds = _train_ds(shapes_dir)
    assert make_dataloader(ds, 4, train=True, workers=2).multiprocessing_context is None
    assert make_dataloader(ds, 4, train=True, workers=0).multiprocessing_context is None
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    loader = make_dataloader(ds, 4, train=True, workers=2)
    assert loader.multiprocessing_context.get_start_method() == "forkserver"


@pytest.mark.slow
def test_forkserver_workers_give_the_same_batches_and_see_close_mosaic(shapes_dir, monkeypatch):
    """The dataset survives pickling into forkserver workers: same batches as in-process loading, and the shared
    epoch / mosaic switch still reaches the persistent workers."""
    torch.manual_seed(0)
    a = _batches(make_dataloader(_train_ds(shapes_dir), 4, train=True, workers=0))
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    ds = _train_ds(shapes_dir)
    loader = make_dataloader(ds, 4, train=True, workers=2, persistent_workers=True)
    b = _batches(loader)
    for x, y in zip(a, b, strict=True):
        for key in x:
            assert torch.equal(x[key], y[key]), key
    ds.aug.close_mosaic = 1
    set_loader_epoch(loader, 2, total_epochs=3)
    assert all((batch["lb_params"][:, 0] < 1).all() for batch in loader)  # mosaic off in the workers
