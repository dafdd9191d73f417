"""Studies in a storage: trials by state, best value, running and stale trials.

    hpo status --storage sqlite:///studies/hpo.db [--study-name NAME]

A running trial is "stale" when the next worker to start would fail and re-queue it: its
heartbeat is older than the grace period, or its worker process on this machine is gone.
"""

from __future__ import annotations

from hpo.cli.common import ArgumentParser, first_line
from hpo.config.run import DEFAULT_STORAGE, RunConfig
from hpo.errors import UsageError
from hpo.persist.urls import redact


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="storage URL (default %(default)s)")
    p.add_argument("--study-name", default=None, help="only this study (default: all)")
    p.add_argument(
        "--grace-period",
        type=int,
        default=RunConfig.grace_period,
        help="seconds without heartbeat after which a running trial is stale "
        "(default %(default)s, as for hpo study)",
    )
    return p


def main(argv: list[str], prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    import optuna

    from hpo.analysis.status import describe_study
    from hpo.persist.liveness import stale_trial_numbers
    from hpo.persist.storages import Liveness, open_existing_storage

    live = Liveness(min(15, max(1, args.grace_period - 1)), args.grace_period)
    storage = open_existing_storage(args.storage, live)
    names = sorted(optuna.get_all_study_names(storage))
    if args.study_name is not None:
        if args.study_name not in names:
            raise UsageError(
                f"no study {args.study_name!r} in {redact(args.storage)}; "
                f"studies: {', '.join(names) or 'none'}"
            )
        names = [args.study_name]
    if not names:
        print(f"No studies in {redact(args.storage)}.")
        return 0
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        print("\n".join(describe_study(study, stale_trial_numbers(study))))
    return 0
