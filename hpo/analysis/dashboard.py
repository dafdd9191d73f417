"""optuna-dashboard on this project's studies, with their artifact store wired in.

    serve("sqlite:///studies/hpo.db", 8080)          # `hpo dashboard` (hpo.cli.dashboard)

Bound to 127.0.0.1 only (the dashboard can edit and delete studies): reach it from another
machine through an SSH tunnel (`ssh -L 8080:127.0.0.1:8080 host`). Trial curves, the best
checkpoint and the confusion matrix appear under each trial's and the study's "Artifacts".
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from hpo.errors import UsageError
from hpo.persist.urls import redact

HOST = "127.0.0.1"


def check_port_free(port: int) -> None:
    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the server's own socket does: connections in TIME_WAIT do not block the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} is already in use; pass another --port") from None
            raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None


def serve(
    storage_url: str,
    port: int,
    artifact_dir: str | Path | None = None,
    study_name: str | None = None,
    default_name: str | None = None,
) -> None:
    """Blocks serving the dashboard until interrupted. Prints the page of the study chosen as
    every read command chooses one (an unknown --study-name is a UsageError; no choice at all
    just leaves the list of studies)."""
    from optuna_dashboard import run_server

    from hpo.persist.artifacts import artifact_store, default_artifact_dir
    from hpo.persist.storages import open_existing_storage

    storage = open_existing_storage(storage_url, writes=True)
    page = study_page(storage, storage_url, study_name, default_name)
    directory = Path(artifact_dir or default_artifact_dir(storage_url))
    store = artifact_store(storage_url, directory)
    print(
        f"optuna-dashboard on http://{HOST}:{port}/dashboard/{page}  (studies: "
        f"{redact(storage_url)}; artifacts: {directory}); Ctrl-C stops it",
        flush=True,
    )
    run_server(storage, host=HOST, port=port, artifact_store=store)


def study_page(storage, storage_url: str, study_name: str | None, default_name: str | None) -> str:
    """'studies/<id>' for the chosen study, '' for the list of studies."""
    import optuna

    from hpo.persist.internals import study_id
    from hpo.persist.studies import choose_study

    names = optuna.get_all_study_names(storage)
    try:
        name = choose_study(names, storage_url, study_name, default_name)
    except UsageError:
        if study_name is not None:
            raise
        return ""
    return f"studies/{study_id(optuna.load_study(study_name=name, storage=storage))}"
