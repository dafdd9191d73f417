"""optuna-dashboard on this project's studies, with their artifact store wired in.

    hpo dashboard                                # studies/hpo.db on 127.0.0.1:8080
    hpo dashboard --storage sqlite:///studies/other.db --port 8081
    hpo dashboard --study-name NAME              # prints that study's page too
    make dashboard ARGS="--port 8081"

Bound to 127.0.0.1 only (the dashboard can edit and delete studies): reach it from another
machine through an SSH tunnel (`ssh -L 8080:127.0.0.1:8080 host`). Trial curves, the best
checkpoint and the confusion matrix appear under each trial's and the study's "Artifacts".
It serves every study of the storage; the page it prints is that of the study the other read
commands would read (--study-name, else the default study, else the only one), when there is one.
"""

from __future__ import annotations

import errno

from hpo.cli.common import (
    ArgumentParser,
    add_storage_flag,
    add_study_flags,
    default_study_name,
    first_line,
)
from hpo.errors import UsageError
from hpo.persist.urls import check_existing_storage

DEFAULT_PORT = 8080


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    add_storage_flag(p)
    add_study_flags(p)
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="default %(default)s")
    p.add_argument(
        "--artifact-dir",
        default=None,
        help="artifact store directory (default: beside the storage file, e.g. "
        "studies/hpo-artifacts/, or studies/artifacts/ for database servers)",
    )
    return p


def main(argv: list[str], prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    check_existing_storage(args.storage)
    from hpo.analysis.dashboard import check_port_free, serve

    check_port_free(args.port)
    try:
        serve(
            args.storage, args.port, args.artifact_dir, args.study_name, default_study_name(args)
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # lost the port to another process since check_port_free
        if exc.errno != errno.EADDRINUSE:
            raise
        raise UsageError(f"port {args.port} is already in use; pass another --port") from None
    return 0
