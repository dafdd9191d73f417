"""Data augmentation on whole batches of tensors (seed 002's flip, rotation, scale, noise).

Applied by `LitClassifier` to training batches after they reach the device: one affine
resampling per batch (`affine_grid` + `grid_sample`), no per-image PIL work, so it costs little
on a CPU and runs on the GPU when there is one. Validation and test batches are never touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from hpo.errors import UsageError


@dataclass(frozen=True)
class Augmentation:
    flip: bool = False  # random horizontal flip, p = 0.5
    rotation: float = 0.0  # max degrees either way
    scale: float = 0.0  # max relative zoom either way (0.1 → ×0.9…×1.1)
    noise: float = 0.0  # std of added Gaussian noise (inputs are standardised)

    def __post_init__(self) -> None:
        if self.rotation < 0 or self.noise < 0 or not 0 <= self.scale < 1:
            raise UsageError(
                "augmentation needs rotation ≥ 0 degrees, 0 ≤ scale < 1 and noise ≥ 0; got "
                f"rotation={self.rotation}, scale={self.scale}, noise={self.noise}"
            )

    @property
    def active(self) -> bool:
        return bool(self.flip or self.rotation or self.scale or self.noise)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.flip:
            flipped = torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5
            x = torch.where(flipped, x.flip(-1), x)
        if self.rotation or self.scale:
            x = _random_affine(x, self.rotation, self.scale)
        if self.noise:
            x = x + self.noise * torch.randn_like(x)
        return x


def _random_affine(x: torch.Tensor, max_degrees: float, max_scale: float) -> torch.Tensor:
    n = len(x)
    angle = (torch.rand(n, device=x.device) * 2 - 1) * math.radians(max_degrees)
    zoom = 1 + (torch.rand(n, device=x.device) * 2 - 1) * max_scale
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)
