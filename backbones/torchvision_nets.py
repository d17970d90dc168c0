"""torchvision ResNet-50 / ResNeXt-50 (32x4d) as backbones; state-dict keys are torchvision's (``conv1``,
``layer1``.., ``fc``), so torchvision checkpoints load unchanged."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .common import Backbone, FeatureInfo, check_out_indices, level_stride
from .pretrained import WeightsSpec, load_checked, load_state_dict_file, resolve_pretrained
from .registry import register_backbone

if TYPE_CHECKING:
    from torchvision.models import ResNet  # untyped package: Any for the type checker


#: torchvision model name -> its ImageNet weights enum member (names written once; torchvision imported on use)
TORCHVISION_NAMES = {"resnet50": "ResNet50_Weights", "resnext50_32x4d": "ResNeXt50_32X4D_Weights"}


def _torchvision_models() -> dict[str, tuple[Any, Any]]:
    from torchvision import models

    return {
        name: (getattr(models, name), getattr(models, enum).IMAGENET1K_V2) for name, enum in TORCHVISION_NAMES.items()
    }


class TorchvisionResNet(Backbone):
    """ResNet-family backbone. ``forward(x: [B, 3, H, W])`` -> maps at ``self.strides``; logits if ``num_classes``."""

    conv1: nn.Conv2d
    bn1: nn.BatchNorm2d
    relu: nn.ReLU
    maxpool: nn.MaxPool2d
    layer1: nn.Module  # nn.Sequential of blocks; layers after the last requested map become nn.Identity
    layer2: nn.Module
    layer3: nn.Module
    layer4: nn.Module
    fc: nn.Linear | None

    def __init__(self, net: ResNet, out_indices: tuple[int, ...], num_classes: int = 0, name: str = "resnet") -> None:
        super().__init__()
        # torchvision names, so its checkpoints load key-for-key
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        infos, red = [FeatureInfo(net.bn1.num_features, net.conv1.stride[0], "conv1")], net.conv1.stride[0]
        red *= net.maxpool.stride if isinstance(net.maxpool.stride, int) else net.maxpool.stride[0]
        for i, layer in enumerate([net.layer1, net.layer2, net.layer3, net.layer4]):
            red *= layer[0].conv2.stride[0]
            last = layer[-1]
            chs = last.bn3.num_features if hasattr(last, "bn3") else last.bn2.num_features
            infos.append(FeatureInfo(chs, red, f"layer{i + 1}"))
        available = [k for k in range(5) if infos[k].reduction == level_stride(k)]
        self.out_indices = check_out_indices(name, out_indices, available)
        self.feature_info = [infos[k] for k in self.out_indices]
        self.num_classes = num_classes
        self.fc = nn.Linear(infos[-1].num_chs, num_classes) if num_classes > 0 else None
        if self.fc is None:  # drop layers after the last requested map (no unused parameters under DDP)
            for k in range(self.out_indices[-1] + 1, 5):
                setattr(self, f"layer{k}", nn.Identity())

    def _layers(self) -> list[nn.Module]:
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def _levels(self) -> list[nn.Module]:
        """Module groups producing out indices 0..4."""
        return [nn.ModuleList([self.conv1, self.bn1]), nn.ModuleList([self.maxpool, self.layer1]), *self._layers()[1:]]

    def frozen_modules(self, n: int) -> list[nn.Module]:
        return self._levels()[: n + 1]

    def _run(self, x: torch.Tensor, full: bool) -> tuple[list[torch.Tensor], torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        feats = [x] if 0 in self.out_indices else []
        x = self.maxpool(x)
        last = 4 if full else self.out_indices[-1]
        for k, layer in enumerate(self._layers()[:last], start=1):
            x = layer(x)
            if k in self.out_indices:
                feats.append(x)
        return feats, x

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[B, 3, H, W] -> list of [B, C_i, H / s_i, W / s_i]`` for ``self.channels`` / ``self.strides``."""
        return self._run(x, full=False)[0]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor] | torch.Tensor:
        if self.fc is None:
            return self._run(x, full=False)[0]
        return self.fc(torch.flatten(self._run(x, full=True)[1].mean((2, 3)), 1))

    def ignored_checkpoint_prefixes(self) -> tuple[str, ...]:
        """Checkpoint prefixes unused here: the classifier in feature mode, layers after the last requested map."""
        if self.fc is not None:
            return ()
        return ("fc.", *(f"layer{k}." for k in range(self.out_indices[-1] + 1, 5)))


def build_torchvision(
    name: str,
    pretrained: bool | None = None,
    out_indices: tuple[int, ...] = (2, 3, 4),
    *,
    width_mult: float = 1.0,
    depth_mult: float = 1.0,
    num_classes: int = 0,
) -> TorchvisionResNet:
    """Build ``resnet50`` / ``resnext50_32x4d``; ``pretrained=True`` uses torchvision's IMAGENET1K_V2 weights
    (same torch hub cache file torchvision uses). (A weights file is loaded by :func:`backbones.build_backbone`.)"""
    models = _torchvision_models()
    if name not in models:
        raise ValueError(f"unknown torchvision backbone {name!r}; choose one of {sorted(models)}")
    if width_mult != 1.0 or depth_mult != 1.0:
        raise ValueError(
            f"{name}: width_mult/depth_mult must be 1.0 (got {width_mult}, {depth_mult}); "
            "torchvision ResNets cannot be scaled -- use cspresnext50 for a narrow model"
        )
    fn, weights = models[name]
    model = TorchvisionResNet(fn(weights=None), out_indices, num_classes=num_classes, name=name)
    path = resolve_pretrained(pretrained, name, WeightsSpec(weights.url))
    if path is not None:
        sd = load_state_dict_file(path)
        load_checked(model, sd, name=name, source=str(path), ignore_prefixes=model.ignored_checkpoint_prefixes())
    return model


for _name in TORCHVISION_NAMES:
    register_backbone(_name)(partial(build_torchvision, _name))
