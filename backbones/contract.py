"""The backbone contract, applied and checked by :func:`backbones.build_backbone` for every backbone.

A builder returns a :class:`backbones.common.Backbone` with the maps of ``out_indices``; a ``pretrained`` file is
loaded here (strict keys), and ``frozen_stages`` / ``norm_eval`` are applied here, through the backbone's
``frozen_modules(n)``. Each step is then checked, and a backbone that does not meet the contract is a ValueError
naming it and what it lacks -- never a setting silently ignored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from torch import nn

from .common import NUM_LEVELS, Backbone, level_stride
from .pretrained import load_checked, load_state_dict_file


def check_frozen_stages(name: str, frozen_stages: object) -> int:
    """``frozen_stages`` as an int in -1..4, else a ValueError naming the backbone."""
    if isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int) or not -1 <= frozen_stages < NUM_LEVELS:
        raise ValueError(
            f"{name}: frozen_stages={frozen_stages!r} must be an int in -1..{NUM_LEVELS - 1} "
            "(-1/0 = nothing frozen, N = stem and stages 1..N frozen)"
        )
    return frozen_stages


def check_outputs(name: str, model: nn.Module, out_indices: Sequence[int]) -> Backbone:
    """``model`` as a Backbone whose ``channels`` / ``strides`` describe exactly the maps of ``out_indices`` (index
    i = stride ``2 ** (i + 1)`` pixels); a ValueError naming the backbone otherwise."""
    if not isinstance(model, Backbone):
        raise ValueError(
            f"backbone {name!r}: its builder returned a {type(model).__name__}; it must return a "
            "backbones.Backbone subclass (feature_info, frozen_modules(n); see docs/BACKBONES.md)"
        )
    want = [level_stride(i) for i in out_indices]
    if model.strides != want or len(model.channels) != len(want):
        raise ValueError(
            f"backbone {name!r}: out_indices {list(out_indices)} need maps at strides {want}, but it declares "
            f"strides {model.strides} (channels {model.channels}); its builder must build exactly those maps"
        )
    return model


def load_pretrained_file(name: str, model: Backbone, path: str | os.PathLike) -> None:
    """Load the weights file ``path`` into ``model`` (every model tensor present, every file tensor used, except
    the prefixes ``model.ignored_checkpoint_prefixes()`` names, if it has that method)."""
    ignored = getattr(model, "ignored_checkpoint_prefixes", None)
    prefixes = tuple(ignored()) if callable(ignored) else ()
    load_checked(model, load_state_dict_file(path), name=name, source=str(path), ignore_prefixes=prefixes)


def apply_freezing(name: str, model: Backbone, frozen_stages: int, norm_eval: bool) -> None:
    """Freeze the stem and stages 1..``frozen_stages`` (no gradients, eval mode, kept so by ``train()``) and with
    ``norm_eval`` keep every BatchNorm in eval mode; then check that it took effect."""
    model.frozen_stages = max(frozen_stages, 0)
    model.norm_eval = bool(norm_eval)
    frozen: list[nn.Module] = []
    if model.frozen_stages > 0:
        frozen = _frozen_modules(name, model, model.frozen_stages)
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)
    was_training = model.training
    model.train()  # the Backbone.train() override must keep the frozen parts (and with norm_eval all BN) in eval
    _check_frozen(name, model, frozen)
    model.train(was_training)


def _frozen_modules(name: str, model: Backbone, n: int) -> list[nn.Module]:
    lacks = f"backbone {name!r}: frozen_stages={n} needs {type(model).__name__}.frozen_modules(n)"
    try:
        frozen = list(model.frozen_modules(n))
    except NotImplementedError:
        raise ValueError(f"{lacks} (the modules of the stem and stages 1..n); it does not implement it") from None
    own = {id(p) for p in model.parameters()}
    params = [p for m in frozen for p in m.parameters()]
    if not params or any(id(p) not in own for p in params):
        raise ValueError(f"{lacks} to return the model's own modules (with parameters) for the stem and stages 1..n")
    return frozen


def _check_frozen(name: str, model: Backbone, frozen: list[nn.Module]) -> None:
    for m in frozen:
        if any(p.requires_grad for p in m.parameters()) or any(s.training for s in m.modules()):
            raise ValueError(
                f"backbone {name!r}: frozen_stages={model.frozen_stages} did not hold: a frozen module is trainable "
                f"or in training mode after train() ({type(model).__name__} must keep Backbone.train())"
            )
    if model.norm_eval:
        batchnorms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if any(m.training for m in batchnorms):
            raise ValueError(
                f"backbone {name!r}: norm_eval did not hold: a BatchNorm is in training mode after train() "
                f"({type(model).__name__} must keep Backbone.train())"
            )
