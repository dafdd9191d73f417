"""A study's trials by state, best value, running and stale trials.

    hpo status                                  # the default study (see --study-name)
    hpo status --storage URL --study-name NAME
    hpo status --storage URL --all              # every study in the storage

A running trial is "stale" when the next worker to start would fail and re-queue it: its
heartbeat is older than the grace period, or its worker process on this machine is gone.
"""

from __future__ import annotations

from hpo.cli.common import (
    ArgumentParser,
    add_storage_flag,
    add_study_flags,
    default_study_name,
    first_line,
)
from hpo.config.run import RunConfig
from hpo.persist.urls import redact


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    add_storage_flag(p)
    add_study_flags(p)
    p.add_argument("--all", action="store_true", help="every study in the storage")
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
    from hpo.persist.studies import choose_study

    live = Liveness(min(15, max(1, args.grace_period - 1)), args.grace_period)
    storage = open_existing_storage(args.storage, live)
    names = sorted(optuna.get_all_study_names(storage))
    if args.all and not names:
        print(f"No studies in {redact(args.storage)}.")
    if not args.all:
        names = [choose_study(names, args.storage, args.study_name, default_study_name(args))]
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        print("\n".join(describe_study(study, stale_trial_numbers(study))))
    return 0
