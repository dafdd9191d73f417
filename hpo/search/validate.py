"""Everything checkable before a study opens its storage, cheapest first.

    space = validate(config)      # names, values, space file: no torch, no storage
    preflight(config, space)      # the dataset and weights files (may load torch)

Bad input is a UsageError naming the problem and the fix; nothing is created or changed.
"""

from __future__ import annotations

from dataclasses import replace

from hpo.config.metrics import create_metrics
from hpo.config.presets import Preset
from hpo.config.run import RunConfig, check_run_values
from hpo.config.space import SearchSpace
from hpo.errors import UsageError
from hpo.persist.urls import check_existing_storage, check_storage_url
from hpo.search.registries import MULTI_OBJECTIVE, PRUNERS, SAMPLERS
from hpo.train.registries import DATASETS, MODELS
from hpo.train.routing import check_names, check_values


def validate(config: RunConfig) -> SearchSpace:
    """Run values, component names, metric, storage URL and the space (names and choices);
    imports neither torch nor Optuna."""
    check_run_values(config)
    SAMPLERS.check(config.sampler)
    PRUNERS.check(config.pruner)
    MODELS.check(config.model)
    DATASETS.check(config.dataset)
    check_objectives(config)
    check_storage_url(config.storage)
    if config.warm_start_storage is not None:
        check_existing_storage(config.warm_start_storage)
    space = config.load_space()
    check_space(space, config.model, config.dataset)
    return space


def check_objectives(config: RunConfig) -> int:
    """The metrics (one, or several for a multi-objective study) and a sampler that can search
    them; returns how many objectives there are."""
    count = len(create_metrics(config.metric, config.cap))
    if count > 1 and config.sampler not in MULTI_OBJECTIVE:
        raise UsageError(
            f"--sampler {config.sampler} searches one objective; with several metrics "
            f"(--metric {config.metric}) use one of: {', '.join(MULTI_OBJECTIVE)}"
        )
    return count


def check_space(space: SearchSpace, model: str, dataset: str) -> None:
    """Every name the space sets is a hyperparameter of this model, data or training module,
    and every value that names a component (optimizer, lr_schedule, loss, …) exists."""
    check_names(space.names(), model, dataset)
    check_values(space.possible_values())


def preflight(config: RunConfig, space: SearchSpace) -> None:
    """The dataset (and fixed pretrained weights) can be read: one line instead of a failed
    trial per attempt. Loads the data module, hence torch."""
    from hpo.train.preflight import check_inputs_exist

    check_inputs_exist(config, space.fixed)


def with_fallback(config: RunConfig, preset: Preset) -> tuple[RunConfig, str | None]:
    """The config on the preset's fallback dataset if its own is unavailable, and a note saying
    so; unchanged when the user chose another dataset or the data is there."""
    if preset.fallback_dataset is None or config.dataset != preset.run.get("dataset"):
        return config, None
    from hpo.train.preflight import dataset_available

    if dataset_available(config):
        return config, None
    note = (
        f"{config.dataset} is not available in {config.data_dir} (offline?): "
        f"running preset {preset.name} on {preset.fallback_dataset} instead"
    )
    return replace(config, dataset=preset.fallback_dataset), note
