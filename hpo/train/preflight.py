"""Checks that need the data and weights on disk, run before a study opens its storage.

Without them a missing dataset or weights file would fail every trial in turn, with a
traceback each; with them it is one line and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from hpo.config.run import RunConfig
from hpo.errors import UsageError
from hpo.train.data import create_datamodule
from hpo.train.registries import MODELS
from hpo.train.routing import datamodule_hyperparameters


def check_inputs_exist(config: RunConfig, fixed: dict[str, Any]) -> None:
    """The dataset can be read (or downloaded) and fixed pretrained weights can be loaded;
    raises UsageError saying what is missing and where to put it."""
    data_args = {k: v for k, v in fixed.items() if k in datamodule_hyperparameters(config.dataset)}
    create_datamodule(
        config.dataset, seed=config.seed, data_dir=config.data_dir, **data_args
    ).prepare_data()
    pretrained = fixed.get("pretrained")
    if pretrained is not None and "pretrained" in MODELS.parameters(config.model):
        from hpo.train.models.resnet import weights_file

        if str(pretrained) != "none":
            weights_file(int(config.model.removeprefix("resnet")), str(pretrained))


def dataset_available(config: RunConfig) -> bool:
    """Whether the config's dataset can be read (or downloaded) right now."""
    try:
        create_datamodule(config.dataset, data_dir=config.data_dir).prepare_data()
    except UsageError:
        return False
    return True
