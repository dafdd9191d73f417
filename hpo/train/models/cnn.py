"""The small CNNs of the seed experiments (networks only; loss, metrics and optimizer live in
hpo.train.module).

Every factory takes the data's shape (`in_channels`, `num_classes`, `image_size`) plus its own
hyperparameters, which a search space may declare by name:

    net = create_model("ethanet", in_channels=1, num_classes=10, image_size=8, kernel_size=5)
    (hpo.train.models.create_model; the names are in hpo.train.registries.MODELS)
"""

from __future__ import annotations

import torch
from torch import nn

from hpo.errors import UsageError


def _conv_block(
    c_in: int, c_out: int, kernel_size: int, batch_norm: bool = False
) -> nn.Sequential:
    """Same-padded conv, (batch norm,) ReLU, 2×2 max-pool (ceil mode, so tiny images never
    shrink to zero)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2),
        *([nn.BatchNorm2d(c_out)] if batch_norm else []),
        nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True),
    )


def _flat_size(features: nn.Module, in_channels: int, image_size: int) -> int:
    with torch.no_grad():
        return features(torch.zeros(1, in_channels, image_size, image_size)).numel()


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise UsageError(f"model parameter {name} must be positive, got {value}")


def mnist_cnn(
    in_channels: int,
    num_classes: int,
    image_size: int,
    width: int = 1,
    dropout: float = 0.0,
) -> nn.Module:
    """2 conv + 2 dense layers (seed 003); `width` scales filters and first dense layer.

    About 3.4k weights on 28×28 MNIST at width 1, growing almost linearly with `width`."""
    _check_positive(width=width)
    features = nn.Sequential(
        _conv_block(in_channels, 4 * width, 3),
        _conv_block(4 * width, 8 * width, 3),
        nn.Flatten(),
    )
    flat = _flat_size(features, in_channels, image_size)
    return nn.Sequential(
        features,
        nn.Linear(flat, 8 * width),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(8 * width, num_classes),
    )


def ethanet(
    in_channels: int,
    num_classes: int,
    image_size: int,
    base_filters: int = 12,
    kernel_size: int = 3,
    hidden: int = 128,
    dropout: float = 0.05,
    batch_norm: bool = False,
) -> nn.Module:
    """Ethanet (seed 004): 3 pooled conv layers of F, 2F, 4F filters, 2 dense, dropout.

    `base_filters` is F, `kernel_size` the square kernel of every conv layer; `batch_norm`
    adds BatchNorm after each conv (not in the paper; faster convergence)."""
    _check_positive(base_filters=base_filters, kernel_size=kernel_size, hidden=hidden)
    f, bn = base_filters, bool(batch_norm)
    features = nn.Sequential(
        _conv_block(in_channels, f, kernel_size, bn),
        _conv_block(f, 2 * f, kernel_size, bn),
        _conv_block(2 * f, 4 * f, kernel_size, bn),
        nn.Flatten(),
    )
    flat = _flat_size(features, in_channels, image_size)
    return nn.Sequential(
        features,
        nn.Linear(flat, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


def lenet(
    in_channels: int,
    num_classes: int,
    image_size: int,
    base_filters: int = 6,
    kernel_size: int = 5,
    dropout: float = 0.0,
) -> nn.Module:
    """LeNet-5 style (seed 000): conv 6 and 16 filters with pooling, dense 120 → 84 → classes."""
    _check_positive(base_filters=base_filters, kernel_size=kernel_size)
    f = base_filters
    features = nn.Sequential(
        _conv_block(in_channels, f, kernel_size),
        _conv_block(f, f * 16 // 6, kernel_size),
        nn.Flatten(),
    )
    flat = _flat_size(features, in_channels, image_size)
    return nn.Sequential(
        features,
        nn.Linear(flat, 120),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )


def cifar_cnn7(
    in_channels: int,
    num_classes: int,
    image_size: int,
    dropout: float = 0.0,
) -> nn.Module:
    """7-conv CNN of seed 001: 16/64/128/256/512/512/256 filters, FC 1024 → classes on 32×32."""

    def conv(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.ReLU()]

    pool = nn.MaxPool2d(2, ceil_mode=True)
    features = nn.Sequential(
        *conv(in_channels, 16, stride=2),
        *conv(16, 64),
        pool,
        *conv(64, 128),
        *conv(128, 256),
        pool,
        *conv(256, 512),
        *conv(512, 512),
        pool,
        *conv(512, 256),
        nn.Flatten(),
    )
    flat = _flat_size(features, in_channels, image_size)  # 256·2·2 = 1024 on 32×32 inputs
    return nn.Sequential(features, nn.Dropout(dropout), nn.Linear(flat, num_classes))
