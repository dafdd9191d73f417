"""Optimizers by name. Each factory takes the parameters, the learning rate and the
optional `weight_decay`/`momentum` hyperparameters a search space may declare."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim import Optimizer

from hpo.train.registries import OPTIMIZERS

Params = Iterable[torch.nn.Parameter]


def create_optimizer(
    name: str, params: Params, lr: float, weight_decay: float = 0.0, momentum: float = 0.9
) -> Optimizer:
    if lr <= 0:
        raise ValueError(f"learning rate must be positive, got {lr}")
    return OPTIMIZERS.get(name)(params, lr=lr, weight_decay=weight_decay, momentum=momentum)


def sgd(params: Params, lr: float, weight_decay: float, momentum: float) -> Optimizer:
    """Plain gradient descent (no momentum)."""
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)


def sgd_momentum(params: Params, lr: float, weight_decay: float, momentum: float) -> Optimizer:
    """SGD with heavy-ball momentum (0.9 unless the space sets `momentum`)."""
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def nesterov(params: Params, lr: float, weight_decay: float, momentum: float) -> Optimizer:
    """SGD with Nesterov momentum."""
    return torch.optim.SGD(
        params, lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay
    )


def adam(params: Params, lr: float, weight_decay: float, momentum: float) -> Optimizer:
    """Adam (L2 penalty as weight decay)."""
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def adamw(params: Params, lr: float, weight_decay: float, momentum: float) -> Optimizer:
    """AdamW (decoupled weight decay)."""
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def adagrad(params: Params, lr: float, weight_decay: float, momentum: float) -> Optimizer:
    """Adagrad."""
    return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)


def adadelta(params: Params, lr: float, weight_decay: float, momentum: float) -> Optimizer:
    """Adadelta (its `lr` scales the update; 1.0 is PyTorch's default)."""
    return torch.optim.Adadelta(params, lr=lr, weight_decay=weight_decay)


def rmsprop(params: Params, lr: float, weight_decay: float, momentum: float) -> Optimizer:
    """RMSprop (no momentum)."""
    return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
