"""The seeds' networks: output shapes, ResNet transfer learning (frozen base, new head, weights
from a file or torchvision's cache, fine-tuning), and their errors."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from torch import nn

from hpo.errors import UsageError
from hpo.testing.datagen import write_resnet_weights
from hpo.train.data import create_datamodule
from hpo.train.models import count_parameters, create_model
from hpo.train.models.resnet import TransferNet
from hpo.train.module import LitClassifier


@pytest.mark.parametrize(
    "name,channels,size,kwargs",
    [
        ("lenet", 1, 32, {}),
        ("lenet", 3, 20, {"kernel_size": 3, "dropout": 0.3}),
        ("cifar_cnn7", 3, 32, {}),
        ("cifar_cnn7", 1, 28, {"dropout": 0.5}),
        ("ethanet", 3, 100, {"base_filters": 8, "kernel_size": 5, "batch_norm": True}),
        ("mnist_cnn", 1, 28, {"width": 3}),
    ],
)
def test_output_shapes(name, channels, size, kwargs):
    net = create_model(name, in_channels=channels, num_classes=7, image_size=size, **kwargs)
    assert net(torch.zeros(2, channels, size, size)).shape == (2, 7)


def test_cifar_cnn7_is_the_seed_architecture():
    net = create_model("cifar_cnn7", in_channels=3, num_classes=100, image_size=32)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 64, 128, 256, 512, 512, 256]
    (fc,) = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert (fc.in_features, fc.out_features) == (1024, 100)


@pytest.mark.parametrize("depth", [18, 34, 50])
def test_resnet_shapes_frozen_base_and_head(depth):
    net = create_model(
        f"resnet{depth}",
        in_channels=1,
        num_classes=5,
        image_size=32,
        pretrained="none",
        head_dim=64,
    )
    assert isinstance(net, TransferNet)
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 5)  # grey images are fed as RGB
    assert not any(p.requires_grad for p in net.base.parameters())
    features = 512 if depth < 50 else 2048
    linear = [m for m in net.head if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(features, 64), (64, 5)]
    assert [m.p for m in net.head if isinstance(m, nn.Dropout)] == [0.5]
    assert count_parameters(net) == features * 64 + 64 + 64 * 5 + 5


@pytest.mark.slow
@pytest.mark.parametrize("depth", [101, 152])
def test_deep_resnet_shapes(depth):
    net = create_model(
        f"resnet{depth}", in_channels=3, num_classes=3, image_size=32, pretrained="none"
    ).eval()  # one image at 1×1 after the last block: batch norm needs eval mode
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 3)


def test_resnet_loads_weights_from_a_file(tmp_path):
    path = write_resnet_weights(tmp_path / "weights.pth")
    net = create_model(
        "resnet18", in_channels=3, num_classes=4, image_size=32, pretrained=str(path)
    )
    state = torch.load(path, weights_only=True)
    assert torch.equal(net.base.conv1.weight, state["conv1.weight"])
    assert torch.equal(net.base.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"])


def test_resnet_loads_weights_from_the_torchvision_cache(tmp_path, monkeypatch):
    from torchvision.models import ResNet18_Weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    filename = ResNet18_Weights.DEFAULT.url.rsplit("/", 1)[-1]
    path = write_resnet_weights(tmp_path / "hub" / "checkpoints" / filename)
    net = create_model("resnet18", in_channels=3, num_classes=4, image_size=32)
    assert torch.equal(net.base.conv1.weight, torch.load(path, weights_only=True)["conv1.weight"])


def test_resnet_without_weights_is_a_clear_error(tmp_path, monkeypatch, no_downloads):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache; the download fails
    with pytest.raises(UsageError, match="download failed .*Connection refused.*pretrained: none"):
        create_model("resnet18", in_channels=3, num_classes=4, image_size=32)
    with pytest.raises(UsageError, match="does not exist"):
        create_model("resnet18", in_channels=3, num_classes=4, image_size=32, pretrained="x.pth")
    wrong = write_resnet_weights(tmp_path / "r34.pth", depth=34)
    with pytest.raises(UsageError, match="does not hold resnet18 weights"):
        create_model(
            "resnet18", in_channels=3, num_classes=4, image_size=32, pretrained=str(wrong)
        )
    with pytest.raises(UsageError, match="finetune_epochs"):
        create_model(
            "resnet18",
            in_channels=3,
            num_classes=4,
            image_size=32,
            pretrained="none",
            finetune_epochs=6,
        )


class LearningRates(pl.Callback):
    def __init__(self) -> None:
        self.by_epoch: list[list[float]] = []

    def on_train_epoch_end(self, trainer, pl_module):  # after the fine-tuning callback acted
        self.by_epoch.append([g["lr"] for g in trainer.optimizers[0].param_groups])


@pytest.mark.parametrize("layers", ["last_block", "all"])
def test_finetuning_unfreezes_at_a_tenth_of_the_head_lr(tmp_path, layers):
    from hpo.testing.datagen import write_image_folder

    write_image_folder(tmp_path, classes=2, per_class=8, size=16)
    dm = create_datamodule("imagefolder", data_dir=str(tmp_path), resize=16, batch_size=8)
    dm.setup("fit")
    net = create_model(
        "resnet18",
        in_channels=3,
        num_classes=2,
        image_size=16,
        pretrained="none",
        finetune_epochs=1,
        finetune_layers=layers,
    )
    conv1_before = net.base.conv1.weight.detach().clone()
    layer4_before = net.base.layer4[0].conv1.weight.detach().clone()
    lrs = LearningRates()
    trainer = pl.Trainer(
        max_epochs=3,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_train_batches=1,
        limit_val_batches=1,
        callbacks=[lrs],
    )
    trainer.fit(LitClassifier(net, 2, lr=0.01), datamodule=dm)
    assert lrs.by_epoch[0] == [0.01] and lrs.by_epoch[1] == [0.01]  # head only, frozen base
    assert lrs.by_epoch[2] == pytest.approx([0.001, 0.001])  # fine-tuning group added, lr/10
    assert not torch.equal(net.base.layer4[0].conv1.weight, layer4_before)
    assert torch.equal(net.base.conv1.weight, conv1_before) == (layers == "last_block")
