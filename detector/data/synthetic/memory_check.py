"""Will a synthetic image of a given side fit in memory? Checked before a generator writes anything.

The generators (built-in shapes, the demo video, the held-out sets) hold a few full-size float and uint8 copies of
one image at a time: peak Python-side memory measured with ``tracemalloc`` is 73 bytes per pixel for the shapes
renderer and 51 for the held-out scenes, independent of the side (256-1024 px). :data:`BYTES_PER_PIXEL` adds a third
for OpenCV's encoders, which ``tracemalloc`` does not see. The memory available is read from the system when the
check runs (``MemAvailable`` of ``/proc/meminfo``, else the free pages ``os.sysconf`` reports); there is no fixed
size limit.
"""

from __future__ import annotations

import os
from pathlib import Path

BYTES_PER_PIXEL = 96  # peak bytes per pixel of one rendered image (see the module doc)


class MemoryEstimateError(ValueError):
    """The run would need more memory than the machine has available; the message names the setting."""


def render_bytes(side: int) -> int:
    """Estimated peak bytes to render one ``side`` x ``side`` synthetic image."""
    return BYTES_PER_PIXEL * int(side) * int(side)


def available_bytes() -> int | None:
    """Memory available to a new allocation now, in bytes; None when the system does not say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file's unit is kB
    except (OSError, ValueError, IndexError):
        pass
    try:  # other POSIX systems: free physical pages (less than what could be reclaimed: errs on the safe side)
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n < 2**40 else f"{n / 2**40:.1f} TiB"


def check_memory(need: int, what: str, available: int | None = None) -> None:
    """Raise :class:`MemoryEstimateError` when ``need`` bytes exceed the memory available (``available``, default:
    :func:`available_bytes`). ``what`` names the setting that decides ``need``, e.g. ``"--size 300000"``."""
    have = available_bytes() if available is None else available
    if have is not None and need > have:
        raise MemoryEstimateError(
            f"{what}: one image needs about {_gib(need)} of memory ({BYTES_PER_PIXEL} bytes per pixel), "
            f"{_gib(have)} are available: choose a smaller image side"
        )


__all__ = ["BYTES_PER_PIXEL", "MemoryEstimateError", "available_bytes", "check_memory", "render_bytes"]
