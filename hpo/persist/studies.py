"""Open a study that already exists, for commands that only read it (export, best, dashboard).

study = load_existing_study("sqlite:///studies/hpo.db", None)   # the only study there
"""

from __future__ import annotations

import optuna

from hpo.errors import UsageError
from hpo.persist.storages import open_existing_storage
from hpo.persist.urls import redact


def load_existing_study(storage_url: str, study_name: str | None) -> optuna.Study:
    """The named study, or the storage's only study; never creates a file or a study."""
    storage = open_existing_storage(storage_url)
    names = optuna.get_all_study_names(storage)
    if study_name is None:
        if len(names) == 1:
            study_name = names[0]
        else:
            listed = ", ".join(names) if names else "none"
            raise UsageError(
                f"{redact(storage_url)} holds {len(names)} studies ({listed}); "
                "pick one with --study-name"
            )
    elif study_name not in names:
        raise UsageError(
            f"no study {study_name!r} in {redact(storage_url)}; "
            f"it holds: {', '.join(names) or 'none'}"
        )
    return optuna.load_study(study_name=study_name, storage=storage)
