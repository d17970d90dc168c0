"""The one device resolver: ``auto | cpu | cuda | cuda:N | N | mps`` -> ``torch.device``, with errors naming the key;
and the CPU bf16 capability check used by AMP."""

from __future__ import annotations

import os

import torch


def select_device(
    spec: str | torch.device = "auto", key: str = "--device", local_rank: int | None = None
) -> torch.device:
    """Resolve a device setting.

    ``auto`` is CUDA when available, else CPU; ``cuda`` / ``cuda:N`` / ``N`` need a visible GPU N; ``mps`` needs Apple's
    backend. Under torchrun (``WORLD_SIZE`` > 1) ``local_rank`` replaces the CUDA index. ``key`` names the setting in
    error messages (``train.device``, ``--device``). Raises ``ValueError`` for an unknown or unavailable device.
    """
    if isinstance(spec, torch.device):
        return spec
    name = str(spec).strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError(f"{key}={spec}: the MPS backend is not available here; use cpu (or auto)")
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:") or name.isdigit():
        if not torch.cuda.is_available():
            raise ValueError(f"{key}={spec} but no CUDA device is available; use cpu (or auto)")
        index_text = name.split(":", 1)[1] if ":" in name else name if name.isdigit() else "0"
        if not index_text.isdigit():
            raise ValueError(f"{key}={spec}: expected cuda:N with N a GPU index")
        index = int(index_text)
        if local_rank is not None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            index = local_rank
        if index >= torch.cuda.device_count():
            raise ValueError(f"{key}={spec}: only {torch.cuda.device_count()} CUDA device(s) visible")
        return torch.device("cuda", index)
    raise ValueError(f"{key}={spec}: unknown device; expected auto, cpu, cuda, cuda:N, N or mps")


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 in hardware (AVX512-BF16 or AMX), so bf16 autocast speeds training up.

    Elsewhere oneDNN emulates bf16 and autocast is slower than float32."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)
