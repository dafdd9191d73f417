"""`imagefolder`: any folder of class subfolders (seed 000's letters, Fruits-360, your own).

    <data-dir>/<class>/*.png|jpg            → seeded stratified train/val/test split
    <data-dir>/train/<class>/…  <data-dir>/test/<class>/…   (also Training/Test) → test kept

Images are decoded once per process (threads, torchvision.io: no PIL on the hot path), resized
to `resize`×`resize` and kept as uint8 tensors until standardised; a folder of a few thousand
small images loads in seconds and epochs then never touch the disk.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import torch
from torch.nn import functional as F

from hpo.errors import UsageError
from hpo.train.data.tensors import (
    LazyDataModule,
    Splits,
    TensorDataModule,
    holdout_splits,
    three_way_splits,
)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
TRAIN_NAMES = ("train", "training")
TEST_NAMES = ("test", "testing")


def _subdir(root: Path, names: tuple[str, ...]) -> Path | None:
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name.lower() in names:
            return child
    return None


def class_files(root: Path) -> dict[str, list[Path]]:
    """Class name → its image files, classes sorted by name (their label is the index)."""
    classes = {
        d.name: sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        for d in sorted(root.iterdir())
        if d.is_dir()
    }
    classes = {name: files for name, files in classes.items() if files}
    if len(classes) < 2:
        raise UsageError(
            f"{root} needs at least 2 class subfolders containing images "
            f"({', '.join(sorted(IMAGE_SUFFIXES))}); found {len(classes)}"
        )
    return classes


def decode(path: Path, size: int, grayscale: bool) -> torch.Tensor:
    """One image as uint8 (C, size, size), antialiased resize."""
    from torchvision.io import ImageReadMode, decode_image

    mode = ImageReadMode.GRAY if grayscale else ImageReadMode.RGB
    try:
        image = decode_image(str(path), mode=mode)
    except RuntimeError as exc:
        raise UsageError(f"cannot decode image {path}: {exc}") from None
    if image.shape[-2:] != (size, size):
        resized = F.interpolate(
            image[None].float(), size=(size, size), mode="bilinear", antialias=True
        )
        image = resized[0].round().clamp(0, 255).to(torch.uint8)
    return image


def load_folder(
    root: Path, classes: list[str], size: int, grayscale: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    files = class_files(root)
    unknown = sorted(set(files) - set(classes))
    if unknown:
        raise UsageError(f"{root} has classes the training folder lacks: {unknown}")
    paths = [(p, classes.index(name)) for name, ps in files.items() for p in ps]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        images = list(pool.map(lambda item: decode(item[0], size, grayscale), paths))
    return torch.stack(images), torch.tensor([label for _, label in paths], dtype=torch.int64)


@lru_cache(maxsize=2)
def _splits(
    root: Path, resize: int, grayscale: bool, val_fraction: float, test_fraction: float, seed: int
) -> Splits:
    train_dir, test_dir = _subdir(root, TRAIN_NAMES), _subdir(root, TEST_NAMES)
    classes = list(class_files(train_dir or root))
    train = load_folder(train_dir or root, classes, resize, grayscale)
    if test_dir is None:
        splits = three_way_splits(*train, val_fraction, test_fraction, seed)
    else:
        test = load_folder(test_dir, classes, resize, grayscale)
        splits = holdout_splits(train, test, val_fraction, seed)
    return replace(splits, class_names=tuple(classes))


def imagefolder(
    batch_size: int = 32,
    seed: int = 0,
    data_dir: str = "data",
    resize: int = 64,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    grayscale: bool = False,
) -> TensorDataModule:
    """Class subfolders under --data-dir (train/ and test/ optional), resized, split by seed."""
    root = Path(data_dir)
    if not root.is_dir():
        raise UsageError(
            f"image folder {root} does not exist; pass --data-dir DIR with one subfolder per "
            "class (or DIR/train/<class>/ and DIR/test/<class>/)"
        )
    if resize < 8:
        raise UsageError(f"resize must be at least 8 pixels, got {resize}")

    def load() -> Splits:
        return _splits(
            root.resolve(), int(resize), bool(grayscale), val_fraction, test_fraction, seed
        )

    return LazyDataModule(batch_size, seed, load)
