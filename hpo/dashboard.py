"""optuna-dashboard on this project's studies, with their artifact store wired in.

    python -m hpo.dashboard                                # studies/hpo.db on 127.0.0.1:8080
    python -m hpo.dashboard --storage sqlite:///studies/other.db --port 8081
    make dashboard ARGS="--port 8081"

Bound to 127.0.0.1 only (the dashboard can edit and delete studies): reach it from another
machine through an SSH tunnel (`ssh -L 8080:127.0.0.1:8080 host`). Trial curves, the best
checkpoint and the confusion matrix appear under each trial's and the study's "Artifacts".
"""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from hpo.cli import ArgumentParser, cli_main
from hpo.config import DEFAULT_STORAGE
from hpo.errors import UsageError
from hpo.storage import check_existing_storage, redact

HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m hpo.dashboard", description=__doc__.splitlines()[0])
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="storage URL (default %(default)s)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="default %(default)s")
    p.add_argument(
        "--artifact-dir",
        default=None,
        help="artifact store directory (default: beside the storage file, e.g. "
        "studies/hpo-artifacts/, or studies/artifacts/ for database servers)",
    )
    return p


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


def serve(storage_url: str, port: int, artifact_dir: str | Path | None = None) -> None:
    """Blocks serving the dashboard until interrupted."""
    from optuna_dashboard import run_server

    from hpo.artifacts import artifact_store, default_artifact_dir
    from hpo.storage import open_storage

    directory = Path(artifact_dir or default_artifact_dir(storage_url))
    store = artifact_store(storage_url, directory)
    print(
        f"optuna-dashboard on http://{HOST}:{port}/  (studies: {redact(storage_url)}; "
        f"artifacts: {directory}); Ctrl-C stops it",
        flush=True,
    )
    run_server(open_storage(storage_url), host=HOST, port=port, artifact_store=store)


@cli_main("hpo.dashboard")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_existing_storage(args.storage)
    check_port_free(args.port)
    try:
        serve(args.storage, args.port, args.artifact_dir)
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # lost the port to another process since check_port_free
        if exc.errno != errno.EADDRINUSE:
            raise
        raise UsageError(f"port {args.port} is already in use; pass another --port") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
