"""The MNIST family from IDX files: `mnist` and `fashion_mnist` (60k train, 10k test, 28×28).

Looked up under --data-dir in torchvision's layout (`<data-dir>/MNIST/raw/`,
`<data-dir>/FashionMNIST/raw/`), then directly in `<data-dir>/<name>/` and `<data-dir>/`;
Fashion-MNIST also in Debian's `dataset-fashion-mnist` package. Missing files are downloaded
with torchvision when there is internet; otherwise the error says where to put them.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import torch

from hpo.errors import UsageError
from hpo.train.data._download import existing_file, fetch_or_explain, find_dir
from hpo.train.data.tensors import LazyDataModule, Splits, TensorDataModule, holdout_splits

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Family:
    name: str  # our dataset name
    folder: str  # torchvision's folder under root
    title: str
    url: str
    system_dirs: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()


MNIST = Family("mnist", "MNIST", "MNIST", "https://ossci-datasets.s3.amazonaws.com/mnist/")
FASHION = Family(
    "fashion_mnist",
    "FashionMNIST",
    "Fashion-MNIST",
    "https://github.com/zalandoresearch/fashion-mnist",
    ("/usr/share/datasets/fashion-mnist",),  # apt-get install dataset-fashion-mnist
    tuple("T-shirt/top Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag Ankle-boot".split()),
)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (optionally gzipped) as a numpy array of its shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise UsageError(f"cannot read {path}: {exc}") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise UsageError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise UsageError(f"{path} is truncated: header says {shape}, found {array.size} bytes")
    return array.reshape(shape)


def candidate_dirs(family: Family, data_dir: str) -> list[Path]:
    root = Path(data_dir)
    return [
        root / family.folder / "raw",
        root / family.name,
        root,
        *map(Path, family.system_dirs),
    ]


def locate(family: Family, data_dir: str) -> Path:
    """The directory holding the four IDX files, downloading them if needed and possible."""
    found = find_dir(candidate_dirs(family, data_dir), list(FILES.values()))
    if found is not None:
        return found
    from torchvision import datasets

    tv_class = datasets.MNIST if family is MNIST else datasets.FashionMNIST
    expected = Path(data_dir) / family.folder / "raw"
    fetch_or_explain(
        family.title,
        lambda: tv_class(data_dir, train=True, download=True),
        expected,
        [f + ".gz" for f in FILES.values()],
        family.url,
    )
    return expected


@lru_cache(maxsize=2)
def _splits(family: Family, directory: Path, val_fraction: float, seed: int) -> Splits:
    def read(key: str) -> torch.Tensor:
        return torch.from_numpy(read_idx(existing_file(directory, FILES[key])).copy())

    train_x, test_x = read("train_images").unsqueeze(1), read("test_images").unsqueeze(1)
    train_y, test_y = read("train_labels").long(), read("test_labels").long()
    splits = holdout_splits((train_x, train_y), (test_x, test_y), val_fraction, seed)
    return replace(splits, class_names=family.class_names)


def _datamodule(family: Family, batch_size: int, seed: int, data_dir: str, val_fraction: float):
    def load() -> Splits:
        return _splits(family, locate(family, data_dir), float(val_fraction), seed)

    return LazyDataModule(batch_size, seed, load, partial(locate, family, data_dir))


def mnist(
    batch_size: int = 64, seed: int = 0, data_dir: str = "data", val_fraction: float = 1 / 12
) -> TensorDataModule:
    """MNIST digits, 28×28 grey (IDX files in --data-dir, or downloaded); 55k/5k/10k split."""
    return _datamodule(MNIST, batch_size, seed, data_dir, val_fraction)


def fashion_mnist(
    batch_size: int = 64, seed: int = 0, data_dir: str = "data", val_fraction: float = 1 / 12
) -> TensorDataModule:
    """Fashion-MNIST, 28×28 grey (--data-dir, Debian's dataset-fashion-mnist, or download)."""
    return _datamodule(FASHION, batch_size, seed, data_dir, val_fraction)
