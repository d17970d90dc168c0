"""Fixtures for the benchmark tests (tools/benchmark.py and detector/bench on tiny CPU settings)."""

import pytest


@pytest.fixture(scope="session")
def shapes_overrides(tmp_path_factory) -> list[str]:
    """Config overrides that point ``data.train`` at a generated 8-image shapes set (64 px)."""
    from detector.data.synthetic.shapes import make_shapes

    paths = make_shapes(tmp_path_factory.mktemp("shapes"), num_train=8, num_val=4, img_size=64)
    return [f"data.train.ann={paths['train_ann']}", f"data.train.images={paths['train_images']}"]
