"""1x1 convolutions as matrix products (detector/model/pointwise_gemm.py): same outputs, same parameter names."""

import pytest
import torch
from torch import nn

from detector.model.fuse import fuse_conv_bn
from detector.model.pointwise_gemm import PointwiseGemmConv2d, eligible, pointwise_convs_as_gemm
from tests.helpers import tiny_model


def test_eligible_convolutions():
    assert eligible(nn.Conv2d(8, 16, 1))
    assert not eligible(nn.Conv2d(8, 16, 1, bias=False))  # nothing to gain: no bias add
    assert not eligible(nn.Conv2d(8, 16, 3))
    assert not eligible(nn.Conv2d(8, 16, 1, stride=2))
    assert not eligible(nn.Conv2d(8, 16, 1, groups=2))
    assert not eligible(nn.Conv2d(8, 16, 1, padding=1))


def test_a_switched_conv_computes_the_conv_and_falls_back_for_other_layouts():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, 1)
    x = torch.randn(2, 8, 5, 7)
    want = conv(x)
    pointwise_convs_as_gemm(conv)
    assert type(conv) is PointwiseGemmConv2d
    got = conv(x.contiguous(memory_format=torch.channels_last))
    assert got.shape == (2, 16, 5, 7) and got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(conv(x), want, rtol=0, atol=0)  # NCHW input: the convolution itself


@pytest.mark.slow
def test_the_detector_gives_the_same_outputs_and_keeps_its_state_dict():
    model = fuse_conv_bn(tiny_model())
    x = torch.rand(2, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    model = model.to(memory_format=torch.channels_last)
    keys = list(model.state_dict())
    with torch.no_grad():
        want = model.head.decode(model(x))
        switched = pointwise_convs_as_gemm(model)
        got = model.head.decode(model(x))
    assert switched == sum(1 for m in model.modules() if type(m) is PointwiseGemmConv2d) > 10
    assert list(model.state_dict()) == keys
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-3)
