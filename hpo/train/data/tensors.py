"""In-memory data modules: every split kept as tensors, batches sliced out of them.

    dm = create_datamodule("digits", batch_size=32, seed=0); dm.setup("fit")   # hpo.train.data
    dm.in_channels, dm.image_size, dm.num_classes  # what the model factory needs

Batches are sliced straight out of the tensors (`hpo.train.data.loader.TensorLoader`): no
per-sample Python work on the hot path, which is most of the cost of a small CNN epoch on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import lightning.pytorch as pl
import torch

from hpo.errors import UsageError
from hpo.train.data.loader import TensorLoader, batches_per_step


@dataclass(frozen=True)
class Splits:
    """Images as float tensors (N, C, H, W), labels as int64 (N,)."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    num_classes: int
    class_names: tuple[str, ...] = ()  # label i's name, when the data has names


def holdout_splits(
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    val_fraction: float,
    seed: int,
) -> Splits:
    """A seeded stratified validation split carved out of `train`; the given test split kept.

    Images come in as uint8 (N, C, H, W) and leave as float32 standardised per channel with the
    training part's mean and std."""
    if not 0.0 < val_fraction < 1.0:
        raise UsageError(f"val_fraction must be in (0, 1), e.g. 0.1-0.4; got {val_fraction}")
    images, labels = train
    fit_t, val_t = seeded_split(labels, val_fraction, seed)
    x_fit = images[fit_t].float().div_(255.0)
    mean = x_fit.mean(dim=(0, 2, 3), keepdim=True)
    std = x_fit.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)

    def standardise(x: torch.Tensor) -> torch.Tensor:
        return x.float().div_(255.0).sub_(mean).div_(std).contiguous()

    num_classes = int(max(labels.max(), test[1].max() if len(test[1]) else 0)) + 1
    return Splits(
        (x_fit.sub_(mean).div_(std).contiguous(), labels[fit_t].contiguous()),
        (standardise(images[val_t]), labels[val_t].contiguous()),
        (standardise(test[0]), test[1].contiguous()),
        num_classes,
    )


def seeded_split(
    labels: torch.Tensor, fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (kept, held out) with `fraction` held out: stratified by class when every class
    can be represented, else a plain seeded shuffle (tiny datasets)."""
    from sklearn.model_selection import train_test_split

    index = torch.arange(len(labels)).numpy()
    counts = torch.bincount(labels)
    held = round(fraction * len(labels))
    classes = int((counts > 0).sum())
    can_stratify = counts[counts > 0].min() >= 2 and classes <= held <= len(labels) - classes
    kept, out = train_test_split(
        index,
        test_size=fraction,
        stratify=labels.numpy() if can_stratify else None,
        random_state=seed,
    )
    return torch.as_tensor(kept), torch.as_tensor(out)


class TensorDataModule(pl.LightningDataModule):
    """Base for in-memory datasets: subclasses implement `load_splits` (cached per process)."""

    def __init__(self, batch_size: int = 64, seed: int = 0) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.seed = seed
        self.splits: Splits | None = None
        #: mini-batches a training step (`train_in_steps`); None: a step is one mini-batch
        self.per_step: int | None = None
        #: mini-batches trained an epoch (a count, or a fraction below 1); None: all
        self.train_limit: float | None = None

    def train_in_steps(self, per_step: int | None = None, limit: float | None = None) -> None:
        """Train in steps of `per_step` mini-batches (default: `batches_per_step`; fewer hooks,
        the same numbers), `limit` mini-batches an epoch."""
        shape = self._loaded().train[0].shape[1:]
        self.per_step = int(per_step) if per_step else batches_per_step(shape, self.batch_size)
        self.train_limit = limit

    def load_splits(self) -> Splits:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:
            self.splits = self.load_splits()

    @property
    def in_channels(self) -> int:
        return self._loaded().train[0].shape[1]

    @property
    def image_size(self) -> int:
        return self._loaded().train[0].shape[-1]

    @property
    def num_classes(self) -> int:
        return self._loaded().num_classes

    @property
    def class_names(self) -> list[str]:
        """Label i's name (e.g. a folder's), else the label number, for figures."""
        names = self._loaded().class_names
        return (
            list(names)
            if len(names) == self.num_classes
            else list(map(str, range(self.num_classes)))
        )

    def train_dataloader(self) -> TensorLoader:
        return TensorLoader(
            *self._loaded().train,
            self.batch_size,
            shuffle=True,
            seed=self.seed,
            batches_per_step=self.per_step,
            limit=self.train_limit,
        )

    def val_dataloader(self) -> TensorLoader:
        return TensorLoader(*self._loaded().val, max(self.batch_size, 256), shuffle=False)

    def test_dataloader(self) -> TensorLoader:
        return TensorLoader(*self._loaded().test, max(self.batch_size, 256), shuffle=False)

    def _loaded(self) -> Splits:
        if self.splits is None:
            self.setup()
        assert self.splits is not None
        return self.splits


class LazyDataModule(TensorDataModule):
    """A data module whose splits come from `load` (which caches them per process), after
    `prepare` (e.g. a download) has made the files available."""

    def __init__(
        self,
        batch_size: int,
        seed: int,
        load: Callable[[], Splits],
        prepare: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(batch_size, seed)
        self._load = load
        self._prepare = prepare

    def prepare_data(self) -> None:
        if self._prepare is not None:
            self._prepare()

    def load_splits(self) -> Splits:
        self.prepare_data()
        return self._load()


def three_way_splits(
    images: torch.Tensor,
    labels: torch.Tensor,
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> Splits:
    """No given test split: a seeded stratified test part first, then validation from the rest
    (see `holdout_splits` for the standardisation)."""
    if not 0.0 < test_fraction < 1.0 or val_fraction + test_fraction >= 1.0:
        raise UsageError(
            f"test_fraction ({test_fraction}) and val_fraction ({val_fraction}) must be in (0, 1) "
            "and leave some images for training"
        )
    rest, test = seeded_split(labels, test_fraction, seed)
    return holdout_splits(
        (images[rest], labels[rest]),
        (images[test], labels[test]),
        val_fraction / (1.0 - test_fraction),
        seed,
    )
