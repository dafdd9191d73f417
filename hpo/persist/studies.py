"""Which study a read command reads, and opening it (export, best, status, retrain, dashboard).

    study = load_existing_study("sqlite:///studies/hpo.db", None, "digits-mnist_cnn-tpe")

One rule everywhere: the study named by --study-name; otherwise the study `hpo study` would run
with the same --dataset/--model/--sampler flags (`<dataset>-<model>-<sampler>`, the defaults
included); otherwise the storage's only study; otherwise a one-line error listing the names.
"""

from __future__ import annotations

from collections.abc import Sequence

import optuna

from hpo.errors import UsageError, did_you_mean
from hpo.persist.storages import open_existing_storage
from hpo.persist.urls import redact


def choose_study(
    names: Sequence[str], storage_url: str, study_name: str | None, default_name: str | None
) -> str:
    """The rule of the module docstring, over the study names a storage holds."""
    where = redact(storage_url)
    listed = ", ".join(sorted(names)) or "none"
    if study_name is not None:
        if study_name not in names:
            hint = did_you_mean(study_name, names)
            raise UsageError(f"no study {study_name!r} in {where}{hint}; it holds: {listed}")
        return study_name
    if default_name in names:
        return default_name
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError(f"{where} holds no study yet; run `hpo study --storage {where}` first")
    raise UsageError(
        f"{where} holds {len(names)} studies ({listed}) and none is {default_name!r}; "
        "pick one with --study-name"
    )


def load_existing_study(
    storage_url: str, study_name: str | None, default_name: str | None = None
) -> optuna.Study:
    """The study chosen by the rule; never creates a file or a study."""
    storage = open_existing_storage(storage_url)
    name = choose_study(optuna.get_all_study_names(storage), storage_url, study_name, default_name)
    return optuna.load_study(study_name=name, storage=storage)
