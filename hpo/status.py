"""Studies in a storage: trials by state, best value, running and stale trials.

    python -m hpo.study status --storage sqlite:///studies/hpo.db [--study-name NAME]

A running trial is "stale" when the next worker to start would fail and re-queue it: its
heartbeat is older than the grace period, or its worker process on this machine is gone.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from hpo.cli import ArgumentParser, cli_main
from hpo.config import DEFAULT_STORAGE
from hpo.errors import UsageError
from hpo.storage import Liveness, redact


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m hpo.study status", description=__doc__.splitlines()[0])
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="storage URL (default %(default)s)")
    p.add_argument("--study-name", default=None, help="only this study (default: all)")
    p.add_argument(
        "--grace-period",
        type=int,
        default=Liveness.grace_period,
        help="seconds without heartbeat after which a running trial is stale "
        "(default %(default)s, as for hpo.study)",
    )
    return p


def describe_study(study, stale: set[int]) -> list[str]:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {s: sum(t.state == s for t in trials) for s in TrialState}
    lines = [
        f"{study.study_name}: {len(trials)} trials — "
        + ", ".join(f"{n} {s.name.lower()}" for s, n in counts.items() if n)
    ]
    try:
        best = study.best_trial
        lines.append(f"  best: #{best.number} value {best.value:.4f}  {best.params}")
    except ValueError:
        lines.append("  best: — (no completed trial)")
    for trial in trials:
        if trial.state != TrialState.RUNNING:
            continue
        worker = trial.system_attrs.get("hpo:worker") or {}
        where = f"{worker.get('host', '?')}:{worker.get('pid', '?')}"
        started = trial.datetime_start
        age = (datetime.datetime.now(started.tzinfo) - started).total_seconds() if started else 0
        epochs = len(trial.intermediate_values)
        flag = "  STALE: re-run by the next worker" if trial.number in stale else ""
        lines.append(
            f"  running #{trial.number} on {where}, {age:.0f} s, {epochs} epochs reported{flag}"
        )
    if counts[TrialState.WAITING]:
        lines.append(f"  queued: {counts[TrialState.WAITING]} trial(s) waiting to be (re-)run")
    return lines


@cli_main("hpo.study status")
def main(argv: Sequence[str] | None = None) -> int:
    import optuna

    from hpo.liveness import stale_trial_numbers
    from hpo.storage import open_existing_storage

    args = build_parser().parse_args(argv)
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
