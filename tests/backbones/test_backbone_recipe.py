"""A backbone written exactly by the recipe of docs/BACKBONES.md ("How to add a backbone"), registered here only:
``build_backbone`` applies and checks ``pretrained``, ``out_indices`` and ``frozen_stages`` for it as for every
built-in backbone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from backbones import BACKBONES, Backbone, FeatureInfo, PretrainedWeightsError, build_backbone, register_backbone
from backbones.common import ConvBNAct, check_out_indices

CHANNELS = [8, 16, 24, 32, 40]  # out indices 0..4 (strides 2..32)


class RecipeNet(Backbone):
    """Stem (stride 2) and four stride-2 stages; ``forward`` returns the maps of ``out_indices``."""

    def __init__(self, out_indices: tuple[int, ...]) -> None:
        super().__init__()
        self.out_indices = check_out_indices("recipe_net", out_indices, list(range(5)))
        self.stem = ConvBNAct(3, CHANNELS[0], 3, 2)
        self.stages = nn.ModuleList(ConvBNAct(a, b, 3, 2) for a, b in zip(CHANNELS, CHANNELS[1:], strict=False))
        names = ["stem", *(f"stages.{i}" for i in range(4))]
        self.feature_info = [FeatureInfo(CHANNELS[i], 2 ** (i + 1), names[i]) for i in self.out_indices]

    def frozen_modules(self, n: int) -> list[nn.Module]:
        return [self.stem, *self.stages[:n]]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = [self.stem(x)]
        for stage in self.stages:
            maps.append(stage(maps[-1]))
        return [maps[i] for i in self.out_indices]


def recipe_net(pretrained=None, out_indices=(2, 3, 4), width_mult=1.0, depth_mult=1.0) -> RecipeNet:
    if pretrained:
        raise PretrainedWeightsError("recipe_net: no official weights; pass a weights file")
    if width_mult != 1.0 or depth_mult != 1.0:
        raise ValueError("recipe_net: width_mult/depth_mult must be 1.0")
    return RecipeNet(tuple(out_indices))


@pytest.fixture(autouse=True)
def registered():
    register_backbone()(recipe_net)  # the name is the function's
    yield
    BACKBONES.remove("recipe_net")


def test_frozen_stages_freeze_the_stem_and_stages_1_to_n():
    model = build_backbone("recipe_net", frozen_stages=2).train()
    frozen, free = [model.stem, model.stages[0], model.stages[1]], [model.stages[2], model.stages[3]]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(not m.training for part in frozen for m in part.modules())  # BatchNorm statistics kept
    assert all(p.requires_grad for m in free for p in m.parameters()) and all(m.training for m in free)
    before = model.stem.bn.running_mean.clone()
    sum(f.sum() for f in model(torch.rand(2, 3, 64, 64))).backward()
    assert torch.equal(model.stem.bn.running_mean, before) and model.stem.conv.weight.grad is None
    assert model.stages[2].conv.weight.grad is not None
    norm_eval = build_backbone("recipe_net", norm_eval=True).train()
    assert not any(m.training for m in norm_eval.modules() if isinstance(m, nn.BatchNorm2d))
    assert all(p.requires_grad for p in norm_eval.parameters())  # norm_eval alone freezes no weights


def test_out_indices_choose_the_maps_and_are_checked():
    model = build_backbone("recipe_net", out_indices=(1, 3))
    feats = model(torch.rand(1, 3, 64, 96))
    assert (model.channels, model.strides) == ([16, 32], [4, 16])
    assert [tuple(f.shape) for f in feats] == [(1, 16, 16, 24), (1, 32, 4, 6)]


def test_a_weights_file_loads_and_a_file_that_does_not_fit_is_an_error(tmp_path):
    torch.manual_seed(1)
    source = RecipeNet((2, 3, 4))
    path = tmp_path / "recipe.pth"
    torch.save({"state_dict": source.state_dict()}, path)
    model = build_backbone("recipe_net", pretrained=path, frozen_stages=1)
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in model.state_dict().items())
    torch.save({"stem.conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(PretrainedWeightsError, match=r"does not fit backbone 'recipe_net'"):
        build_backbone("recipe_net", pretrained=tmp_path / "other.pth")
    with pytest.raises(PretrainedWeightsError, match="no official weights"):
        build_backbone("recipe_net", pretrained=True)


def test_a_backbone_that_breaks_the_contract_is_named():
    @register_backbone()
    def fixed_maps(pretrained=None, out_indices=(2, 3, 4)):  # ignores out_indices
        return RecipeNet((2, 3, 4))

    class NoFreeze(RecipeNet):
        frozen_modules = Backbone.frozen_modules

    class TrainsAll(RecipeNet):
        def train(self, mode: bool = True):
            return nn.Module.train(self, mode)  # loses Backbone.train(): frozen BatchNorms would update

    register_backbone("no_freeze")(lambda pretrained=None, out_indices=(2, 3, 4): NoFreeze(out_indices))
    register_backbone("trains_all")(lambda pretrained=None, out_indices=(2, 3, 4): TrainsAll(out_indices))
    register_backbone("not_a_backbone")(lambda pretrained=None, out_indices=(2, 3, 4): nn.Identity())
    try:
        with pytest.raises(ValueError, match=r"backbone 'fixed_maps': out_indices \[1, 2\] need maps at strides"):
            build_backbone("fixed_maps", out_indices=(1, 2))
        with pytest.raises(ValueError, match=r"'no_freeze': frozen_stages=1 needs NoFreeze.frozen_modules\(n\)"):
            build_backbone("no_freeze", frozen_stages=1)
        assert build_backbone("no_freeze").frozen_stages == 0  # nothing to freeze: fine
        with pytest.raises(ValueError, match=r"'trains_all': frozen_stages=2 did not hold"):
            build_backbone("trains_all", frozen_stages=2)
        with pytest.raises(ValueError, match=r"'not_a_backbone': its builder returned a Identity"):
            build_backbone("not_a_backbone")
        with pytest.raises(ValueError, match=r"recipe_net: frozen_stages=5 must be an int in -1..4"):
            build_backbone("recipe_net", frozen_stages=5)
    finally:
        for name in ("fixed_maps", "no_freeze", "trains_all", "not_a_backbone"):
            BACKBONES.remove(name)
