"""The memory a generated image needs is estimated from its side and checked against what the system has."""

import pytest

from detector.data.synthetic.memory_check import (
    BYTES_PER_PIXEL,
    MemoryEstimateError,
    available_bytes,
    check_memory,
    render_bytes,
)


def test_the_estimate_grows_with_the_area_and_is_checked_against_what_is_available() -> None:
    assert render_bytes(256) == BYTES_PER_PIXEL * 256 * 256
    check_memory(render_bytes(256), "--size 256", available=2**30)  # 6 MiB of 1 GiB: fine
    with pytest.raises(MemoryEstimateError, match=r"--size 4096: one image needs about 1.5 GiB of memory .* 1.0 GiB "):
        check_memory(render_bytes(4096), "--size 4096", available=2**30)
    have = available_bytes()
    assert have is None or have > 0  # read from the system (Linux: MemAvailable), no fixed limit
