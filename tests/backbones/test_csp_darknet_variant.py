"""cspresnext50_darknet: the CSP dataclass fields that describe darknet's CSPResNeXt-50."""

import pytest
import torch

from backbones import PretrainedWeightsError, build_backbone
from backbones.common import make_act
from backbones.csp_blocks import BottleneckBlock, add_shortcut
from backbones.cspnet import CrossStage, StageCfg


def test_leaky_is_darknets_slope_everywhere():
    assert make_act("leaky").negative_slope == 0.1 and make_act("leaky_relu").negative_slope == 0.01
    model = build_backbone("cspresnext50_darknet", width_mult=0.25)
    slopes = {m.negative_slope for m in model.modules() if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.1}


def test_stem_pool_is_2x2_stride_2():
    pool = build_backbone("cspresnext50_darknet", width_mult=0.25).stem.pool
    assert (pool.kernel_size, pool.stride, pool.padding) == (2, 2, 0)
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.testing.assert_close(pool(x), torch.tensor([[[[5.0, 7.0], [13.0, 15.0]]]]))


def test_partial_shortcut_adds_into_the_first_channels():
    y, x = torch.zeros(1, 4, 2, 2), torch.ones(1, 2, 2, 2)
    out = add_shortcut(y, x)
    assert out[:, :2].eq(1).all() and out[:, 2:].eq(0).all()
    with pytest.raises(ValueError, match="partial_shortcut=True allows a narrower input"):
        BottleneckBlock(2, 4, 1.0, 1, "leaky")
    block = BottleneckBlock(2, 4, 1.0, 1, "leaky", partial_shortcut=True)
    assert block(torch.rand(1, 2, 3, 3)).shape == (1, 4, 3, 3)


def test_cross_ratio_split_and_block_first_concat():
    cfg = StageCfg(1, 16, stride=1, expand_ratio=0.75, cross_ratio=0.5, block_ratio=0.5, block_first=True,
                   partial_shortcut=True)  # fmt: skip
    stage = CrossStage(8, cfg, "leaky").eval()
    assert stage.split == [8, 4]  # cross 16 * 0.5, block part 12 - 8
    assert stage.conv_exp.conv.out_channels == 12 and stage.conv_transition.conv.in_channels == 16
    seen = {}
    stage.conv_transition.register_forward_pre_hook(lambda m, args: seen.setdefault("cat", args[0]))
    x = torch.rand(1, 8, 4, 4)
    stage(x)
    cross = stage.conv_exp(x)[:, :8]
    torch.testing.assert_close(seen["cat"][:, 8:], cross)  # [blocks, cross]


def test_stage_activations_follow_the_cfg():
    model = build_backbone("cspresnext50_darknet")
    acts = [type(s.conv_exp.act).__name__ for s in model.stages]
    assert acts == ["LeakyReLU", "Identity", "Identity", "LeakyReLU"]  # stages 1 and 4 keep the activation
    assert [s.split for s in model.stages] == [[128, 64], [256, 256], [512, 512], [1024, 1024]]


def test_no_imagenet_weights_for_the_darknet_variant():
    with pytest.raises(PretrainedWeightsError, match="convert a darknet detector with tools/convert_darknet.py"):
        build_backbone("cspresnext50_darknet", pretrained=True)
