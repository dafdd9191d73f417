"""ResNet transfer learning (seed 002): `resnet18` … `resnet152` in the model registry.

    hpo study --preset seed002_transfer --data-dir my_images

torchvision's architecture with pretrained ImageNet weights, the convolutional base frozen and a
new head (Linear → ReLU → Dropout → Linear) trained on top; optionally the last
`finetune_epochs` (≤5) of a trial unfreeze the last block or the whole base at a tenth of the
head's learning rate. Weights come from a file (`pretrained: /path/to/weights.pth`, a
state_dict) or torchvision's cache (`pretrained: imagenet`, downloaded there when online);
`pretrained: none` is random initialisation. Nothing else falls back silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from hpo.errors import UsageError
from hpo.train.registries import RESNET_DEPTHS as DEPTHS

if TYPE_CHECKING:
    import lightning.pytorch as pl

FINETUNE_LAYERS = ("last_block", "all")
MAX_FINETUNE_EPOCHS = 5


class TransferNet(nn.Module):
    """A pretrained base (its classifier removed) and a new classification head."""

    def __init__(
        self, base: nn.Module, head: nn.Module, finetune_epochs: int, finetune_layers: str
    ) -> None:
        super().__init__()
        self.base = base
        self.head = head
        self.finetune_epochs = finetune_epochs
        self.finetune_layers = finetune_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:  # grey images: the same plane on the three input channels
            x = x.expand(-1, 3, -1, -1)
        return self.head(self.base(x))

    def unfrozen_in_finetuning(self) -> nn.Module:
        return self.base.layer4 if self.finetune_layers == "last_block" else self.base

    def callbacks(self) -> list[pl.Callback]:
        """What `LitClassifier.configure_callbacks` adds to the trainer: the fine-tuning phase."""
        from hpo.train.callbacks.finetune import FinetuneBase

        return [FinetuneBase(self.finetune_epochs)] if self.finetune_epochs else []


def weights_file(depth: int, pretrained: str) -> Path:
    """The state_dict file to load: the given path, or torchvision's cached ImageNet weights
    (downloaded into the cache if possible)."""
    if pretrained != "imagenet":
        path = Path(pretrained)
        if not path.is_file():
            raise UsageError(
                f"pretrained weights file {path} does not exist; give a state_dict saved with "
                f"torch.save(model.state_dict()), 'imagenet' or 'none'"
            )
        return path
    from torchvision.models import get_model_weights

    url = get_model_weights(f"resnet{depth}").DEFAULT.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if not cached.is_file():
        try:
            torch.hub.load_state_dict_from_url(url, progress=False, map_location="cpu")
        except Exception as exc:  # URLError, OSError, HTTPError … all mean "not available"
            raise UsageError(
                f"no ImageNet weights for resnet{depth}: {cached} is missing and the download "
                f"failed ({exc}); put {url} there, pass `pretrained: /path/to/weights.pth`, or "
                "`pretrained: none` for random initialisation"
            ) from None
    return cached


def resnet_base(depth: int, pretrained: str) -> nn.Module:
    """torchvision's ResNet with its weights loaded and its `fc` replaced by Identity."""
    from torchvision import models

    net = getattr(models, f"resnet{depth}")(weights=None)
    if pretrained != "none":
        path = weights_file(depth, pretrained)
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            net.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise UsageError(f"{path} does not hold resnet{depth} weights: {first}") from None
    net.fc = nn.Identity()
    return net


def resnet(
    depth: int,
    in_channels: int,
    num_classes: int,
    image_size: int,
    pretrained: str = "imagenet",
    head_dim: int = 256,
    dropout: float = 0.5,
    finetune_epochs: int = 0,
    finetune_layers: str = "last_block",
) -> nn.Module:
    """ResNet-{depth} transfer learning (seed 002): frozen pretrained base, new head, fine-tuning.

    Registered once per depth (resnet18 … resnet152) with `depth` bound."""
    if depth not in DEPTHS:
        raise UsageError(f"resnet depth must be one of {DEPTHS}, got {depth}")
    if in_channels not in (1, 3):
        raise UsageError(f"resnet{depth} takes 1- or 3-channel images, got {in_channels}")
    if not 0 <= finetune_epochs <= MAX_FINETUNE_EPOCHS:
        raise UsageError(f"finetune_epochs must be 0…5, got {finetune_epochs}")
    if finetune_layers not in FINETUNE_LAYERS:
        raise UsageError(f"finetune_layers must be one of {FINETUNE_LAYERS}")
    if head_dim < 1:
        raise UsageError(f"head_dim must be positive, got {head_dim}")
    from lightning.pytorch.callbacks import BaseFinetuning

    base = resnet_base(depth, str(pretrained))
    BaseFinetuning.freeze(base, train_bn=False)
    features = 512 if depth < 50 else 2048
    head = nn.Sequential(
        nn.Linear(features, head_dim),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(head_dim, num_classes),
    )
    return TransferNet(base, head, finetune_epochs, finetune_layers)
