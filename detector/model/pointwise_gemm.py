"""1x1 convolutions with a bias as one matrix product whose epilogue adds the bias (inference on CUDA, half precision).

After BatchNorm folding every convolution has a bias. PyTorch's cuDNN path adds it in a separate, non-vectorised
broadcast kernel that costs more than the convolution itself: on an H200 (bf16, batch 32, channels_last) a
256->256 1x1 convolution at 160x160 takes 0.774 ms with its bias and 0.220 ms without; the same product through
``torch.addmm`` (cuBLASLt adds a 1-D bias in its epilogue) takes 0.265 ms (512->512 at 80: 0.450 -> 0.181 ms;
1024->512 at 40: 0.147 -> 0.082 ms; `docs/PERFORMANCE.md`). A channels_last ``[B, C, H, W]`` map is already a
``[B*H*W, C]`` matrix in memory, so the product needs no copy and its ``[B*H*W, C_out]`` result is the
channels_last output.

:func:`pointwise_convs_as_gemm` switches eligible convolutions (1x1, stride 1, no padding, no groups or dilation,
with a bias) to :class:`PointwiseGemmConv2d`, a subclass that keeps the parameters and their names (state dicts and
checkpoints are unchanged); inputs that are not channels_last fall back to the convolution. Results equal the
convolution's up to float rounding (a different summation order).
"""

from __future__ import annotations

import torch
from torch import nn


class PointwiseGemmConv2d(nn.Conv2d):
    """A 1x1 ``nn.Conv2d`` computed as ``addmm(bias, x as [B*H*W, C_in], W^T)`` for channels_last inputs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or not x.is_contiguous(memory_format=torch.channels_last) or self.bias is None:
            return super().forward(x)
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(n * h * w, c)  # a view: channels_last memory is [B, H, W, C]
        out = torch.addmm(self.bias, rows, self.weight.view(self.out_channels, c).t())
        return out.view(n, h, w, self.out_channels).permute(0, 3, 1, 2)  # channels_last [B, C_out, H, W]


def eligible(m: nn.Module) -> bool:
    """A plain 1x1 convolution with a bias: stride 1, no padding, dilation 1, one group."""
    return (
        type(m) is nn.Conv2d
        and m.kernel_size == (1, 1)
        and m.stride == (1, 1)
        and m.padding == (0, 0)
        and m.dilation == (1, 1)
        and m.groups == 1
        and m.bias is not None
        and m.padding_mode == "zeros"
    )


def pointwise_convs_as_gemm(model: nn.Module) -> int:
    """Switch every eligible 1x1 convolution of ``model`` to :class:`PointwiseGemmConv2d` (in place; fold BatchNorm
    first so the convolutions have their bias). Returns how many were switched."""
    count = 0
    for m in model.modules():
        if eligible(m):
            m.__class__ = PointwiseGemmConv2d
            count += 1
    return count
