"""Optional per-trial Lightning loggers (seed 004 watched its runs in TensorBoard).

hpo study --loggers csv,tensorboard     # → studies/<study>/trial_<n>/seed_<s>/
tensorboard --logdir studies/<study>

`<study>` is the study's folder (hpo.config.names.study_folder): always inside studies/.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.config.names import study_folder
from hpo.config.run import RunConfig, logger_kinds

if TYPE_CHECKING:
    from lightning.pytorch.loggers import Logger

LOG_ROOT = Path("studies")


def trial_loggers(config: RunConfig, trial_number: int, params: dict[str, Any]) -> list[Logger]:
    """The loggers for one fit of one trial, with the trial's hyperparameters recorded."""
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    loggers: list[Logger] = []
    save_dir = LOG_ROOT / study_folder(config.name)
    name, version = f"trial_{trial_number}", f"seed_{config.seed}"
    for kind in logger_kinds(config.loggers):
        if kind == "csv":
            loggers.append(CSVLogger(save_dir, name=name, version=version))
        else:
            loggers.append(TensorBoardLogger(save_dir, name=name, version=version))
    for logger in loggers:
        logger.log_hyperparams(dict(params))
    return loggers
