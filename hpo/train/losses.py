"""Training losses by name (seed 004 compared three): each maps (logits, labels) to a scalar.

`mse` and `poisson` compare the softmax probabilities with the one-hot labels, as Keras does
when a softmax network is compiled with `MeanSquaredError()` or `Poisson()`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _probabilities_and_one_hot(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    probs = logits.softmax(dim=1)
    return probs, F.one_hot(labels, logits.shape[1]).to(probs.dtype)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Categorical cross-entropy on the logits (the default)."""
    return F.cross_entropy(logits, labels)


def mse(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean squared error between softmax probabilities and one-hot labels."""
    probs, target = _probabilities_and_one_hot(logits, labels)
    return F.mse_loss(probs, target)


def poisson(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Poisson loss mean(p − y·log p) on softmax probabilities p and one-hot labels y."""
    probs, target = _probabilities_and_one_hot(logits, labels)
    return F.poisson_nll_loss(probs, target, log_input=False, full=False, eps=1e-7)
