"""Open a study: create it, or load it after checking it was created with this configuration.

    study = open_study(config, space, command)

The study's identity (hpo.config.run.IDENTITY) is stored on it when it is created; a rerun with
different settings is refused, naming each difference. Every process that runs trials claims a
worker index under the study lock, which gives it its own sampler seed (hpo.search.samplers).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import optuna
from optuna.storages import BaseStorage

from hpo import __version__
from hpo.config.metrics import create_metrics
from hpo.config.run import RunConfig, identity_differences
from hpo.config.space import SearchSpace
from hpo.errors import UsageError
from hpo.persist.internals import base_storage, study_id
from hpo.persist.locks import study_lock
from hpo.persist.storages import Liveness, open_storage
from hpo.persist.urls import redact
from hpo.search.pruners import PrunerSettings, create_pruner
from hpo.search.samplers import create_sampler, resumed_seed
from hpo.search.warm_start import source_study, warm_start


def liveness_of(config: RunConfig) -> Liveness:
    return Liveness(config.heartbeat_interval, config.grace_period, config.max_retry)


IDENTITY_WAIT_SECONDS = 15.0


def check_same_identity(study: optuna.Study, config: RunConfig, space: SearchSpace) -> None:
    """A UsageError naming each identity setting ('key: stored → current') that differs."""
    differences = identity_differences(stored_identity(study), config.identity(space))
    if differences:
        raise UsageError(
            f"study {config.name!r} already exists with another configuration "
            f"({'; '.join(differences)}); rerun with its settings or pass a new --study-name"
        )


def stored_identity(study: optuna.Study) -> dict:
    """The identity stored on an existing study. Workers started together race to create it:
    the winner stores the identity a moment after the study exists, so a study with no attrs
    and no trials yet is re-read until it has one (up to IDENTITY_WAIT_SECONDS)."""
    deadline = time.monotonic() + IDENTITY_WAIT_SECONDS
    attrs = study.user_attrs
    while not attrs and not study.get_trials(deepcopy=False) and time.monotonic() < deadline:
        time.sleep(0.2)
        attrs = study.user_attrs
    return attrs.get("identity", {})


def open_study(
    config: RunConfig,
    space: SearchSpace,
    command: str,
    sampler_seed: int | None = None,
    claim_seed: bool = True,
    say: Callable[[str], None] = print,
    storage: BaseStorage | None = None,
) -> optuna.Study:
    """Create the study, or load it after checking it was created with this configuration.

    `sampler_seed` (default: the run's seed) lets a comparison give each sampler its own seed;
    `claim_seed=False` for a process that runs no trial (the --workers parent); `storage`:
    config.storage already opened (a process running many studies opens it once). A
    --warm-start-from study is checked before anything is created; its configurations are
    enqueued once (hpo.search.warm_start), the lines saying so passed to `say`."""
    source = source_study(config) if config.warm_start_from else None
    storage = storage or open_storage(config.storage, liveness_of(config))
    existing = config.name in optuna.get_all_study_names(storage)
    if existing:
        check_same_identity(
            optuna.load_study(study_name=config.name, storage=storage), config, space
        )
    metrics = create_metrics(config.metric, config.cap)
    study = optuna.create_study(
        storage=storage,
        study_name=config.name,
        pruner=study_pruner(config, len(metrics)),
        directions=[metric.direction for metric in metrics],
        load_if_exists=True,
    )
    if not existing:
        study.set_user_attr("identity", config.identity(space))
        study.set_user_attr("config", stored_config(config))
        study.set_user_attr("command", command)
        study.set_user_attr("hpo_version", __version__)
    # Every process joining the study gets its own sampler seed (the first one the study's):
    # workers started together must not propose the same points. The grid shares one seed.
    seed = config.seed if sampler_seed is None else sampler_seed
    index = 0 if config.sampler == "grid" or not claim_seed else claim_worker_index(study)
    study.sampler = create_sampler(config.sampler, space, resumed_seed(seed, index))
    if source is not None:
        for line in warm_start(study, source, config.warm_start_top, space):
            say(line)
    return study


def stored_config(config: RunConfig) -> dict:
    """The run's settings as stored on the study: storage URLs without their passwords."""
    urls = {"storage": config.storage, "warm_start_storage": config.warm_start_storage}
    return {**config.to_dict(), **{k: redact(v) for k, v in urls.items() if v is not None}}


def study_pruner(config: RunConfig, objectives: int) -> optuna.pruners.BasePruner:
    """The configured pruner; none for several objectives (Optuna's pruners take one value)."""
    if objectives > 1:
        return optuna.pruners.NopPruner()
    settings = PrunerSettings(config.pruner_startup, config.pruner_warmup, config.max_epochs)
    return create_pruner(config.pruner, settings)


def claim_worker_index(study: optuna.Study) -> int:
    """0 for the first process ever to run `study`, 1 for the next, ... (race-free)."""
    storage, lock = base_storage(study), study_lock(study)
    lock.acquire()
    try:
        index = int(storage.get_study_system_attrs(study_id(study)).get("hpo:joins", 0))
        storage.set_study_system_attr(study_id(study), "hpo:joins", index + 1)
    finally:
        lock.release()
    return index
