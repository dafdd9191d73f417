"""Real image datasets, one module per family; each registers its factories in `hpo.data.DATASETS`.

    python -m hpo.study --dataset fashion_mnist --data-dir data      # MNIST family: IDX files
    python -m hpo.study --dataset cifar100 --data-dir data           # CIFAR python batches
    python -m hpo.study --dataset imagefolder --data-dir my_images   # class subfolders

Every dataset is decoded once per process and kept as tensors (`hpo.data.TensorLoader` slices
batches out of them), so no DataLoader workers are needed: CPU epochs go to the network.
"""

from hpo.datasets import cifar, imagefolder, mnist

__all__ = ["cifar", "imagefolder", "mnist"]
