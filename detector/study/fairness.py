"""A study spec -> one detector :class:`Config` per backbone, and the fairness rules the study enforces.

Every run starts from the same shared config (the base file plus the shared overrides); per backbone only
``model.backbone`` is replaced, per seed only ``train.seed`` (and ``train.out_dir``, the run folder). The neck builds
itself from each backbone's channels (``build_model``), so its widths and depth, the head, loss, recipe, data, input
size and epochs are those of the shared config for every backbone. A backbone entry starts from the shared
``model.backbone`` section with ``name``, ``width_mult`` and ``depth_mult`` reset to the defaults (they say *which*
backbone; the entry sets them), so ``pretrained``, ``out_indices``, ``frozen_stages`` and ``norm_eval`` are shared
unless an entry sets them. Every backbone must then be from scratch, or every one pretrained.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from detector.config import BackboneConfig, Config, ConfigError, config_from_dict, config_to_dict, load_config
from detector.study.spec import BackboneEntry, StudySpec

#: keys a shared override may not set, and where they come from instead
STUDY_OWNED = {
    "train.seed": "the study's 'seeds' (or --seeds)",
    "train.out_dir": "the study folder (<out>/<name>/<backbone>/seed<k>)",
    "train.resume": "the study itself (it resumes unfinished runs)",
    "train.weights": "nothing: a detector checkpoint fits one backbone only (use model.backbone.pretrained)",
    "model.backbone.name": "each backbones entry",
    "model.backbone.width_mult": "each backbones entry",
    "model.backbone.depth_mult": "each backbones entry",
}
#: what may differ between the runs of a study (dotted prefixes)
PER_RUN_KEYS = ("model.backbone", "train.seed", "train.out_dir")
_IDENTITY_KEYS = ("name", "width_mult", "depth_mult")


@dataclass(frozen=True)
class ResolvedStudy:
    """``shared``: the config every run starts from; ``backbones``: label -> that config with the backbone
    replaced (``train.seed`` / ``train.out_dir`` are set per run by :func:`run_config`); ``pretrained``: True when
    every backbone starts from pretrained weights, False when every one is randomly initialised."""

    spec: StudySpec
    shared: Config
    backbones: dict[str, Config]
    pretrained: bool


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"a.b.c": value}`` (lists are values)."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def differing_keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two nested dicts (a key missing on one side differs)."""
    fa, fb = flatten(a), flatten(b)
    return sorted(k for k in fa.keys() | fb.keys() if fa.get(k, "<absent>") != fb.get(k, "<absent>"))


def _is_per_run(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in PER_RUN_KEYS)


def shared_config(spec: StudySpec) -> Config:
    """The base config with the shared overrides; an override of a key the study owns is an error."""
    for override in spec.overrides:
        key = override.split("=", 1)[0].strip()
        if key in STUDY_OWNED or key == "model.backbone":
            owner = STUDY_OWNED.get(key, "each backbones entry")
            raise ConfigError(f"{spec.path}: overrides sets '{key}', which the study sets from {owner}")
    try:
        cfg = load_config(spec.base, list(spec.overrides))
    except ConfigError as e:
        raise ConfigError(f"{spec.path} (base {spec.base.name} + overrides): {e}") from None
    t = cfg.train
    if t.resume or t.weights:
        key = "train.resume" if t.resume else "train.weights"
        raise ConfigError(f"{spec.base}: sets {key}; a study trains every run itself: remove it from the base config")
    return cfg


def backbone_config(shared: Config, entry: BackboneEntry, source: str) -> Config:
    """``shared`` with ``model.backbone`` replaced by the entry's (identity keys reset to their defaults first)."""
    section = config_to_dict(shared)["model"]["backbone"]
    defaults = BackboneConfig()
    for key in _IDENTITY_KEYS:
        section[key] = getattr(defaults, key)
    section.update(entry.settings)
    checked = config_from_dict({"model": {"backbone": section}}, f"{source}: backbone '{entry.label}'")
    cfg = copy.deepcopy(shared)
    cfg.model.backbone = checked.model.backbone
    return cfg


def is_pretrained(b: BackboneConfig) -> bool:
    """True for ImageNet weights (``true``) or a weights file (a path); False for random init."""
    return b.pretrained is not None and b.pretrained is not False


def check_fair(configs: dict[str, Config], source: str) -> bool:
    """Raise ConfigError unless the configs differ only in ``model.backbone`` (and ``train.seed`` /
    ``train.out_dir``) and every backbone has the same pretrained setting. Returns that setting."""
    labels = list(configs)
    first = config_to_dict(configs[labels[0]])
    for label in labels[1:]:
        other = [k for k in differing_keys(first, config_to_dict(configs[label])) if not _is_per_run(k)]
        if other:
            raise ConfigError(
                f"{source}: backbone '{label}' differs from '{labels[0]}' in {', '.join(other)}; only "
                "model.backbone.* may differ between the backbones of a study"
            )
    flags = {label: is_pretrained(cfg.model.backbone) for label, cfg in configs.items()}
    if len(set(flags.values())) > 1:
        scratch = [k for k, v in flags.items() if not v]
        pretrained = [k for k, v in flags.items() if v]
        raise ConfigError(
            f"{source}: mixed pretrained settings: pretrained {pretrained}, from scratch {scratch}; every backbone "
            "of a study starts the same way: set model.backbone.pretrained for all of them alike"
        )
    return next(iter(flags.values()))


def resolve(spec: StudySpec) -> ResolvedStudy:
    """Check the spec and build every backbone's config (see the module docstring)."""
    shared = shared_config(spec)
    configs = {e.label: backbone_config(shared, e, str(spec.path)) for e in spec.backbones}
    pretrained = check_fair(configs, str(spec.path))
    return ResolvedStudy(spec, shared, configs, pretrained)


def run_config(cfg: Config, seed: int, out_dir: str) -> Config:
    """A backbone's config for one run: ``train.seed`` and ``train.out_dir`` set, nothing else changed."""
    run = copy.deepcopy(cfg)
    run.train.seed = int(seed)
    run.train.out_dir = str(out_dir)
    run.train.resume = False
    return run


def study_identity(resolved: ResolvedStudy) -> dict[str, Any]:
    """What a study folder stores and later runs must match: the shared config without the per-run keys, and
    each backbone's ``model.backbone`` section."""
    shared = config_to_dict(resolved.shared)
    shared["model"].pop("backbone")
    shared["train"].pop("seed")
    shared["train"].pop("out_dir")
    return {
        "shared": shared,
        "backbones": {label: config_to_dict(cfg)["model"]["backbone"] for label, cfg in resolved.backbones.items()},
    }
