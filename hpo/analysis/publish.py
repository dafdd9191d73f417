"""`hpo report`'s one write to the storage: the HTML report, attached to every study of the
comparison as an artifact and linked from each study's note.

    publish("sqlite:///studies/hpo.db", "cmp", Path("reports/cmp/report.html"))
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna_dashboard.artifact import get_artifact_path

from hpo.analysis.results import experiment_studies
from hpo.persist.artifacts import artifact_store, upload
from hpo.persist.notes import link_report
from hpo.persist.storages import open_existing_storage

REPORT_ATTR = "report"


def publish(storage_url: str, experiment: str, html: Path) -> int:
    """Upload `html` to each study of `experiment`; the number of studies."""
    storage = open_existing_storage(storage_url, writes=True)
    store = artifact_store(storage_url)
    names = [name for name, _, _ in experiment_studies(storage_url, experiment)]
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        artifact_id = upload(store, html, study)
        path = get_artifact_path(study, artifact_id)
        study.set_user_attr(REPORT_ATTR, path)
        link_report(study, path)
    return len(names)
