"""Datasets by name (hpo.train.registries.DATASETS), as in-memory LightningDataModules.

    dm = create_datamodule("digits", batch_size=32, seed=0); dm.setup("fit")

One module per family: `digits` (bundled), `mnist` (MNIST, Fashion-MNIST: IDX files), `cifar`
(CIFAR-10/100 python batches), `imagefolder` (class subfolders). Each is decoded once per process
and kept as tensors (`loader.TensorLoader` slices batches out of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.train.registries import DATASETS

if TYPE_CHECKING:
    from hpo.train.data.tensors import TensorDataModule


def create_datamodule(name: str, **kwargs: object) -> TensorDataModule:
    """The dataset's data module; keyword arguments it does not take are dropped."""
    accepted = DATASETS.parameters(name)
    return DATASETS.get(name)(**{k: v for k, v in kwargs.items() if k in accepted})
