"""The components a run is built from, by name: models, datasets, optimizers, LR schedules,
losses. Each entry names its factory as "module:function"; nothing is imported until a fit
builds it, so unknown names are refused before torch loads.

Adding one: write the function in its module (e.g. `hpo/train/models/cnn.py`), add its line here.
"""

from __future__ import annotations

from hpo.registry import Registry

RESNET_DEPTHS = (18, 34, 50, 101, 152)

MODELS = Registry(
    "model",
    {
        "mnist_cnn": "hpo.train.models.cnn:mnist_cnn",
        "ethanet": "hpo.train.models.cnn:ethanet",
        "lenet": "hpo.train.models.cnn:lenet",
        "cifar_cnn7": "hpo.train.models.cnn:cifar_cnn7",
        **{
            f"resnet{depth}": ("hpo.train.models.resnet:resnet", {"depth": depth})
            for depth in RESNET_DEPTHS
        },
    },
)

DATASETS = Registry(
    "dataset",
    {
        "digits": "hpo.train.data.digits:digits",
        "mnist": "hpo.train.data.mnist:mnist",
        "fashion_mnist": "hpo.train.data.mnist:fashion_mnist",
        "cifar10": "hpo.train.data.cifar:cifar10",
        "cifar100": "hpo.train.data.cifar:cifar100",
        "imagefolder": "hpo.train.data.imagefolder:imagefolder",
    },
)

OPTIMIZERS = Registry(
    "optimizer",
    {
        name: f"hpo.train.optimizers:{function}"
        for name, function in {
            "sgd": "sgd",
            "momentum": "sgd_momentum",
            "nesterov": "nesterov",
            "adam": "adam",
            "adamw": "adamw",
            "adagrad": "adagrad",
            "adadelta": "adadelta",
            "rmsprop": "rmsprop",
        }.items()
    },
)

SCHEDULERS = Registry(
    "lr_schedule",
    {
        "none": "hpo.train.schedulers:constant",
        "step": "hpo.train.schedulers:step",
        "cosine": "hpo.train.schedulers:cosine",
        "plateau": "hpo.train.schedulers:plateau",
        "onecycle": "hpo.train.schedulers:onecycle",
    },
)

LOSSES = Registry(
    "loss",
    {name: f"hpo.train.losses:{name}" for name in ("cross_entropy", "mse", "poisson")},
)
