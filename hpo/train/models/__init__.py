"""Networks by name (hpo.train.registries.MODELS): plain `nn.Module`s, no training logic.

    net = create_model("ethanet", in_channels=1, num_classes=10, image_size=8, kernel_size=5)

`cnn`: the small CNNs of the seed experiments; `resnet`: ResNet transfer learning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.train.registries import MODELS

if TYPE_CHECKING:
    from torch import nn


def create_model(name: str, **kwargs: object) -> nn.Module:
    return MODELS.get(name)(**kwargs)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
