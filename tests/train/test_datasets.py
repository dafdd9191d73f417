"""The real-data modules on small generated files in their real formats."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hpo.errors import UsageError
from hpo.testing.datagen import write_cifar, write_image_folder, write_mnist_family
from hpo.train.data import create_datamodule
from hpo.train.data.mnist import FASHION, candidate_dirs, locate


def loaded(name: str, **kwargs):
    dm = create_datamodule(name, **kwargs)
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_family_reads_idx_files_in_torchvision_layout(tmp_path, name, folder):
    write_mnist_family(tmp_path / folder / "raw", n_train=240, n_test=60)
    dm = loaded(name, data_dir=str(tmp_path), val_fraction=0.25, batch_size=32, seed=0)
    (x_fit, y_fit), y_val, y_test = dm.splits.train, dm.splits.val[1], dm.splits.test[1]
    assert (dm.in_channels, dm.image_size, dm.num_classes) == (1, 28, 10)
    assert (len(y_fit), len(y_val), len(y_test)) == (180, 60, 60)
    assert torch.bincount(y_val).tolist() == [6] * 10  # stratified
    assert abs(float(x_fit.mean())) < 1e-4 and abs(float(x_fit.std()) - 1) < 1e-2
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (32, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64


def test_uncompressed_idx_files_and_seeded_split(tmp_path):
    write_mnist_family(tmp_path, gz=False)
    a = loaded("mnist", data_dir=str(tmp_path), seed=1).splits.val[0]
    b = loaded("mnist", data_dir=str(tmp_path), seed=1).splits.val[0]
    c = loaded("mnist", data_dir=str(tmp_path), seed=2).splits.val[0]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_missing_mnist_says_where_to_put_the_files(tmp_path, no_downloads):
    with pytest.raises(UsageError) as err:
        loaded("mnist", data_dir=str(tmp_path / "nowhere"))
    message = str(err.value)
    assert "not found and could not be downloaded" in message
    assert "train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in message


def test_corrupt_idx_file_is_a_usage_error(tmp_path):
    write_mnist_family(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(UsageError, match="cannot read"):
        loaded("mnist", data_dir=str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\0\0\x0d\x03" + b"\0" * 12)
    with pytest.raises(UsageError, match="not an IDX file"):
        loaded("mnist", data_dir=str(tmp_path))


def test_fashion_mnist_falls_back_to_debian_package_files(tmp_path):
    debian = Path(FASHION.system_dirs[0])
    assert debian in candidate_dirs(FASHION, str(tmp_path))
    if not (debian / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(
            "dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)"
        )
    assert locate(FASHION, str(tmp_path)) == debian


@pytest.mark.parametrize("classes", [10, 100])
def test_cifar_python_batches(tmp_path, classes):
    write_cifar(tmp_path, classes)
    name = "cifar10" if classes == 10 else "cifar100"
    dm = loaded(name, data_dir=str(tmp_path), val_fraction=0.2)
    assert (dm.in_channels, dm.image_size, dm.num_classes) == (3, 32, classes)
    assert len(dm.splits.train[1]) + len(dm.splits.val[1]) == 300
    assert len(dm.splits.test[1]) == 60
    means = dm.splits.train[0].mean(dim=(0, 2, 3))
    assert torch.allclose(means, torch.zeros(3), atol=1e-4)  # standardised per channel


def test_missing_cifar_names_the_folder(tmp_path, no_downloads):
    with pytest.raises(UsageError, match="could not be downloaded .*cifar-100-python"):
        loaded("cifar100", data_dir=str(tmp_path))


def test_imagefolder_flat_layout_split_resize_and_seed(tmp_path):
    write_image_folder(tmp_path, classes=3, per_class=20, size=24)
    dm = loaded("imagefolder", data_dir=str(tmp_path), resize=16, val_fraction=0.25, seed=0)
    assert (dm.in_channels, dm.image_size, dm.num_classes) == (3, 16, 3)
    sizes = [len(part[1]) for part in (dm.splits.train, dm.splits.val, dm.splits.test)]
    assert sizes == [33, 15, 12]  # test 20 %, validation 25 % of all
    grey = loaded("imagefolder", data_dir=str(tmp_path), resize=16, grayscale=True, seed=0)
    assert grey.in_channels == 1
    other = loaded("imagefolder", data_dir=str(tmp_path), resize=16, val_fraction=0.25, seed=1)
    assert not torch.equal(dm.splits.val[1], other.splits.val[1]) or not torch.equal(
        dm.splits.val[0], other.splits.val[0]
    )


def test_imagefolder_keeps_a_given_test_folder(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=20, size=20, split=True)
    dm = loaded("imagefolder", data_dir=str(tmp_path), resize=20, val_fraction=0.1)
    assert len(dm.splits.test[1]) == 8  # every 5th image went to test/
    assert len(dm.splits.train[1]) + len(dm.splits.val[1]) == 32


def test_imagefolder_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        create_datamodule("imagefolder", data_dir=str(tmp_path / "missing"))
    (tmp_path / "only_one_class").mkdir()
    with pytest.raises(UsageError, match="at least 2 class subfolders"):
        loaded("imagefolder", data_dir=str(tmp_path))
    write_image_folder(tmp_path / "ok", classes=2, per_class=10)
    with pytest.raises(UsageError, match="val_fraction"):
        loaded("imagefolder", data_dir=str(tmp_path / "ok"), val_fraction=0.9, test_fraction=0.2)
