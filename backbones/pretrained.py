"""Pretrained weights: resolve ``pretrained=`` (path / True / None), read checkpoint files, check keys, load.

Errors are ``PretrainedWeightsError`` (a ``ValueError``) and say what is wrong, with which file, and what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

# Wrapper keys under which checkpoints commonly store the weights, in order of preference.
STATE_DICT_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema", "model_ema", "ema", "module")
SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors")


class PretrainedWeightsError(ValueError):
    """A pretrained-weights file is missing, unreadable, or does not fit the architecture."""


@dataclass(frozen=True)
class WeightsSpec:
    """Official weights of one backbone: download ``url`` into ``<torch hub dir>/checkpoints/<filename>``."""

    url: str
    hf_hub_id: str | None = None  # alternative source (``model.safetensors`` on the Hugging Face hub)

    @property
    def filename(self) -> str:
        return os.path.basename(self.url.split("?")[0])

    @property
    def hash_prefix(self) -> str | None:
        """sha256 prefix embedded in the filename (``name-<hash>.pth``), checked after a download."""
        m = re.search(r"-([a-f0-9]{6,})\.", self.filename)
        return m.group(1) if m else None


def hub_checkpoint_path(filename: str) -> Path:
    """Where torch.hub caches ``filename``: ``$TORCH_HOME/hub/checkpoints/<filename>`` (``torch.hub.get_dir()``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _download(url: str, dst: Path, hash_prefix: str | None) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(url, str(dst), hash_prefix=hash_prefix, progress=True)


def fetch_official(name: str, spec: WeightsSpec) -> Path:
    """Path of the official weights of ``name`` in the torch hub cache, downloading them if absent.

    Raises ``PretrainedWeightsError`` naming the URL and the exact cache path when the download fails (offline).
    """
    dst = hub_checkpoint_path(spec.filename)
    if dst.is_file():
        return dst
    try:
        _download(spec.url, dst, spec.hash_prefix)
    except Exception as e:  # URLError, HTTPError, hash mismatch, disk full...
        alt = ""
        if spec.hf_hub_id:
            alt = f" (or model.safetensors from https://huggingface.co/{spec.hf_hub_id})"
        raise PretrainedWeightsError(
            f"{name}: could not download the official weights ({type(e).__name__}: {e}).\n"
            f"  Download {spec.url}{alt} on a machine with internet access and either\n"
            f"  - put it at {dst} (the torch hub cache; set TORCH_HOME to move it), or\n"
            f"  - pass its path: pretrained='/path/to/{spec.filename}' (model.backbone.pretrained=PATH in configs)."
        ) from e
    return dst


def _as_mapping(obj: object, path: str) -> Mapping[object, object]:
    """``obj`` as a mapping (a module gives its state_dict); an error naming ``path`` for anything else."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise PretrainedWeightsError(f"{path}: holds a {type(obj).__name__}, not a state_dict (dict of tensors)")
    return obj


def _unwrap(obj: object, path: str) -> dict[str, torch.Tensor]:
    mapping = _as_mapping(obj, path)
    for _ in range(3):  # nested wrappers, e.g. {"ema": {"state_dict": {...}}}
        if mapping and all(isinstance(v, torch.Tensor) for v in mapping.values()):
            break
        inner = next((k for k in STATE_DICT_KEYS if k in mapping and mapping[k] is not None), None)
        if inner is None:
            raise PretrainedWeightsError(
                f"{path}: no state_dict found; top-level keys are {sorted(map(str, mapping))[:10]}, "
                f"expected tensors or one of {list(STATE_DICT_KEYS)}"
            )
        mapping = _as_mapping(mapping[inner], path)
    sd = {str(k): v for k, v in mapping.items() if isinstance(v, torch.Tensor)}
    if not sd:
        raise PretrainedWeightsError(f"{path}: the state_dict holds no tensors")
    if all(k.startswith("module.") for k in sd):  # saved from DistributedDataParallel
        sd = {k[len("module.") :]: v for k, v in sd.items()}
    return sd


def load_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a ``.pth/.pt/.safetensors`` file into a flat ``{key: tensor}`` dict on CPU.

    Plain state_dicts and dicts holding one under ``state_dict``/``model``/``ema``/... are accepted.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        hint = "it is a directory; pass the weights file inside it" if p.is_dir() else "check the path"
        raise PretrainedWeightsError(f"pretrained weights file not found: {p} ({hint})")
    if p.suffix.lower() not in SUFFIXES:
        raise PretrainedWeightsError(f"{p}: unsupported weights file type {p.suffix!r}; use one of {SUFFIXES}")
    try:
        if p.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            obj = load_file(str(p), device="cpu")
        else:
            obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as e:
        raise PretrainedWeightsError(
            f"{p}: could not read the weights file ({type(e).__name__}: {e}). The file is probably truncated or "
            f"corrupt (size {p.stat().st_size} bytes): delete it and download it again."
        ) from e
    return _unwrap(obj, str(p))


def _fmt(keys: Iterable[str], limit: int = 8) -> str:
    keys = list(keys)  # keep model / checkpoint order: the first keys name the first layers
    more = f", ... and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_checked(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    name: str,
    source: str,
    ignore_prefixes: tuple[str, ...] = (),
) -> None:
    """Load ``state_dict`` into ``model``, requiring every model tensor present and every checkpoint tensor used.

    Checkpoint keys starting with one of ``ignore_prefixes`` (e.g. ``head.`` in feature mode) are dropped first.
    BatchNorm ``num_batches_tracked`` may be absent (old torchvision files). Any other mismatch raises
    ``PretrainedWeightsError`` listing missing / unexpected keys and shape mismatches.
    """
    sd = {k: v for k, v in state_dict.items() if not k.startswith(ignore_prefixes)}
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in expected]
    shapes = [
        f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in sd and sd[k].shape != v.shape
    ]
    if missing or unexpected or shapes:
        lines = [f"{source}: checkpoint does not fit backbone {name!r}:"]
        if missing:
            lines.append(f"  {len(missing)} of {len(expected)} model keys missing from the checkpoint: {_fmt(missing)}")
        if unexpected:
            lines.append(f"  {len(unexpected)} unexpected checkpoint keys: {_fmt(unexpected)}")
        if shapes:
            lines.append(f"  {len(shapes)} shape mismatches: {_fmt(shapes, 6)}")
        lines.append(
            "  Is this a checkpoint of another architecture or width (width_mult must be 1.0 with pretrained "
            "weights)? Pass the matching file, or pretrained=None for random init."
        )
        raise PretrainedWeightsError("\n".join(lines))
    model.load_state_dict({k: sd[k].to(expected[k].dtype) for k in sd}, strict=False)


def resolve_pretrained(pretrained: bool | str | os.PathLike | None, name: str, spec: WeightsSpec | None) -> Path | None:
    """``None``/``False`` -> ``None``; ``True`` -> official file (cache or download); path -> that path."""
    if pretrained is None or pretrained is False:
        return None
    if pretrained is True:
        if spec is None:
            raise PretrainedWeightsError(f"{name}: no official pretrained weights known; pass a file path instead")
        return fetch_official(name, spec)
    if isinstance(pretrained, str | os.PathLike):
        if isinstance(pretrained, str) and pretrained.lower() in ("true", "false", "none", ""):
            raise PretrainedWeightsError(f"{name}: pretrained={pretrained!r} is a string; pass True/False/None")
        return Path(pretrained)
    raise PretrainedWeightsError(
        f"{name}: pretrained={pretrained!r} ({type(pretrained).__name__}) must be None, False, True or a file path"
    )
