"""Small generated dataset files in the real formats: IDX (MNIST family), CIFAR python batches,
folders of PNGs. Each class has its own bright square, so a few batches already learn something."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import torch


def class_images(n: int, classes: int, size: int, channels: int, seed: int) -> tuple:
    """uint8 images (n, channels, size, size) with a class-specific bright patch, and labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    images = rng.integers(0, 60, size=(n, channels, size, size), dtype=np.uint8)
    patch = max(2, size // 4)
    for i, label in enumerate(labels):
        row = (label * patch) % (size - patch)
        col = ((label // max(1, size // patch)) * patch * 2 + patch) % (size - patch)
        images[i, :, row : row + patch, col : col + patch] = 255
    return images, labels.astype(np.uint8)


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def write_mnist_family(
    directory: Path, n_train: int = 240, n_test: int = 60, gz: bool = True
) -> Path:
    """The four IDX files of MNIST/Fashion-MNIST (10 classes, 28×28) in `directory`."""
    train_x, train_y = class_images(n_train, 10, 28, 1, seed=1)
    test_x, test_y = class_images(n_test, 10, 28, 1, seed=2)
    write_idx(directory / "train-images-idx3-ubyte", train_x[:, 0], gz)
    write_idx(directory / "train-labels-idx1-ubyte", train_y, gz)
    write_idx(directory / "t10k-images-idx3-ubyte", test_x[:, 0], gz)
    write_idx(directory / "t10k-labels-idx1-ubyte", test_y, gz)
    return directory


def _write_batch(path: Path, images: np.ndarray, labels: np.ndarray, label_key: bytes) -> None:
    batch = {b"data": images.reshape(len(images), -1), label_key: labels.astype(int).tolist()}
    path.write_bytes(pickle.dumps(batch))


def write_cifar(root: Path, classes: int, per_batch: int = 60) -> Path:
    """CIFAR-10 (classes=10: 5 data batches + test) or CIFAR-100 (train + test) under root."""
    if classes == 10:
        directory = root / "cifar-10-batches-py"
        directory.mkdir(parents=True)
        for i in range(1, 6):
            x, y = class_images(per_batch, 10, 32, 3, seed=i)
            _write_batch(directory / f"data_batch_{i}", x, y, b"labels")
        x, y = class_images(per_batch, 10, 32, 3, seed=9)
        _write_batch(directory / "test_batch", x, y, b"labels")
    else:
        directory = root / "cifar-100-python"
        directory.mkdir(parents=True)
        x, y = class_images(per_batch * 5, classes, 32, 3, seed=1)
        _write_batch(directory / "train", x, y, b"fine_labels")
        x, y = class_images(per_batch, classes, 32, 3, seed=9)
        _write_batch(directory / "test", x, y, b"fine_labels")
    return directory


def write_image_folder(
    root: Path, classes: int = 3, per_class: int = 10, size: int = 24, split: bool = False
) -> Path:
    """PNGs in root/<class>/ (or root/train/<class>/ and root/test/<class>/ when split)."""
    from torchvision.io import write_png

    x, y = class_images(classes * per_class, classes, size, 3, seed=3)
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        part = ("test" if i % 5 == 0 else "train") if split else ""
        directory = root / part / f"class_{label}"
        directory.mkdir(parents=True, exist_ok=True)
        write_png(torch.from_numpy(image), str(directory / f"img_{i:04d}.png"))
    return root


def write_resnet_weights(path: Path, depth: int = 18) -> Path:
    """A state_dict of a randomly initialised torchvision ResNet, as a stand-in for ImageNet
    weights (no internet here)."""
    from torchvision import models

    torch.manual_seed(123)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(getattr(models, f"resnet{depth}")(weights=None).state_dict(), path)
    return path
