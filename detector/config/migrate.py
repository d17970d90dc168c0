"""Configs of the old head layout -> the tagged-union ``model.head``.

Old: every family's settings in its own section, ``model.head: {type, prior_prob, <family>: {...}, ...}`` and
``loss: {<family>: {...}, ...}``. New: ``model.head: {type, prior_prob, <the selected family's fields>, loss: {...}}``
(only the family in use). Works on the plain dicts (YAML files, checkpoints' stored configs, override keys) before
validation; the family names are passed in (the registry's), so nothing here names a family.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any


def migrate_head_layout(data: dict, families: Sequence[str], default_type: str) -> tuple[dict, list[str]]:
    """``(data in the new layout, the old keys moved)``; ``data`` itself is left alone. The sections of families
    other than ``model.head.type`` (``default_type`` when unset) are dropped: they were unused."""
    model = data.get("model")
    head = model.get("head") if isinstance(model, dict) else None
    loss = data.get("loss")
    old_head = [k for k in head if k in families and isinstance(head[k], dict)] if isinstance(head, dict) else []
    old_loss = [k for k in loss if k in families] if isinstance(loss, dict) else []
    if not old_head and not old_loss:
        return data, []
    out = copy.deepcopy(data)
    new_head: dict[str, Any] = {k: v for k, v in (head or {}).items() if k not in old_head}
    selected = new_head.get("type", default_type)
    if selected in old_head:
        new_head.update(out["model"]["head"][selected])
    if selected in old_loss:
        section = out["loss"][selected]
        new_head["loss"] = {**new_head.get("loss", {}), **section} if isinstance(section, dict) else section
    if old_head:
        out["model"]["head"] = new_head
    else:
        out.setdefault("model", {})["head"] = new_head
    rest = {k: v for k, v in out["loss"].items() if k not in old_loss} if old_loss else None
    if old_loss:
        if rest:
            out["loss"] = rest  # whatever else is there is an unknown key for the validation to report
        else:
            del out["loss"]
    moved = [f"model.head.{k}" for k in old_head] + [f"loss.{k}" for k in old_loss]
    return out, moved


def migrate_head_override(key: str, families: Sequence[str]) -> tuple[str, str | None]:
    """An override key of the old layout -> ``(new key, the family it named)``: ``model.head.<family>.x`` ->
    ``model.head.x``, ``loss.<family>.x`` -> ``model.head.loss.x``; any other key -> ``(key, None)``."""
    parts = key.split(".")
    if len(parts) > 3 and parts[:2] == ["model", "head"] and parts[2] in families:
        return ".".join(["model", "head", *parts[3:]]), parts[2]
    if len(parts) > 2 and parts[0] == "loss" and parts[1] in families:
        return ".".join(["model", "head", "loss", *parts[2:]]), parts[1]
    return key, None


# Keys renamed since configs and checkpoints were written: old dotted key -> new dotted key (same meaning and range)
RENAMED_KEYS = {"eval.conf_thres": "eval.conf", "eval.iou_thres": "eval.iou"}


def migrate_renamed_keys(data: dict) -> tuple[dict, list[str]]:
    """``(data with the keys of :data:`RENAMED_KEYS` under their new names, ["old -> new", ...])``; ``data`` itself
    is left alone. When both names are set, the new one wins (the old one is dropped, and named)."""
    moved = []
    out = data
    for old, new in RENAMED_KEYS.items():
        *path, old_name = old.split(".")
        section: Any = data
        for part in path:
            section = section.get(part) if isinstance(section, dict) else None
        if not isinstance(section, dict) or old_name not in section:
            continue
        if out is data:
            out = copy.deepcopy(data)
        target = out
        for part in path:
            target = target[part]
        value = target.pop(old_name)
        target.setdefault(new.rsplit(".", 1)[1], value)
        moved.append(f"{old} -> {new}")
    return out, moved


def migrate_renamed_override(key: str) -> str:
    """An override key renamed in :data:`RENAMED_KEYS` -> its new name; any other key as is."""
    return RENAMED_KEYS.get(key, key)
