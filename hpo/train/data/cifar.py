"""CIFAR-10 and CIFAR-100 from their python batches (32×32 colour; 50k train, 10k test).

Read from `<data-dir>/cifar-10-batches-py/` and `<data-dir>/cifar-100-python/` (torchvision's
layout, what the official tarballs unpack to); downloaded with torchvision when there is
internet, otherwise the error says where to put them.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import torch

from hpo.errors import UsageError
from hpo.train.data._download import fetch_or_explain, find_dir
from hpo.train.data.tensors import LazyDataModule, Splits, TensorDataModule, holdout_splits


@dataclass(frozen=True)
class Variant:
    title: str
    folder: str
    train_files: tuple[str, ...]
    test_file: str
    label_key: str
    url: str
    class_names: tuple[str, ...] = ()


CIFAR10 = Variant(
    "CIFAR-10",
    "cifar-10-batches-py",
    tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test_batch",
    "labels",
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    tuple("airplane automobile bird cat deer dog frog horse ship truck".split()),
)
CIFAR100 = Variant(
    "CIFAR-100",
    "cifar-100-python",
    ("train",),
    "test",
    "fine_labels",
    "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
)


def read_batch(path: Path, label_key: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One pickled batch: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key.encode()], dtype=np.int64)
    except (KeyError, TypeError):
        raise UsageError(
            f"{path} is not a CIFAR python batch with b'data' and {label_key!r}"
        ) from None
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels)


def locate(variant: Variant, data_dir: str) -> Path:
    needed = [*variant.train_files, variant.test_file]
    root = Path(data_dir)
    found = find_dir([root / variant.folder, root], needed)
    if found is not None:
        return found
    from torchvision import datasets

    tv_class = datasets.CIFAR10 if variant is CIFAR10 else datasets.CIFAR100
    fetch_or_explain(
        variant.title,
        lambda: tv_class(data_dir, train=True, download=True),
        root / variant.folder,
        needed,
        variant.url + " (unpack it there)",
    )
    return root / variant.folder


@lru_cache(maxsize=1)
def _splits(variant: Variant, directory: Path, val_fraction: float, seed: int) -> Splits:
    parts = [read_batch(directory / name, variant.label_key) for name in variant.train_files]
    train = torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])
    test = read_batch(directory / variant.test_file, variant.label_key)
    splits = holdout_splits(train, test, val_fraction, seed)
    return replace(splits, class_names=variant.class_names)


def _datamodule(
    variant: Variant, batch_size: int, seed: int, data_dir: str, val_fraction: float
) -> TensorDataModule:
    def load() -> Splits:
        return _splits(variant, locate(variant, data_dir), float(val_fraction), seed)

    return LazyDataModule(batch_size, seed, load, partial(locate, variant, data_dir))


def cifar10(
    batch_size: int = 64, seed: int = 0, data_dir: str = "data", val_fraction: float = 0.1
) -> TensorDataModule:
    """CIFAR-10, 32×32 colour, 10 classes (python batches in --data-dir, or downloaded)."""
    return _datamodule(CIFAR10, batch_size, seed, data_dir, val_fraction)


def cifar100(
    batch_size: int = 64, seed: int = 0, data_dir: str = "data", val_fraction: float = 0.1
) -> TensorDataModule:
    """CIFAR-100, 32×32 colour, 100 fine classes (python batches in --data-dir, or downloaded)."""
    return _datamodule(CIFAR100, batch_size, seed, data_dir, val_fraction)
