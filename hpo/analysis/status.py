"""Studies in a storage: trials by state, best value, running and stale trials.

    hpo status --storage sqlite:///studies/hpo.db [--study-name NAME]     (hpo.cli.status)

A running trial is "stale" when the next worker to start would fail and re-queue it: its
heartbeat is older than the grace period, or its worker process on this machine is gone.
"""

from __future__ import annotations

import datetime

import optuna
from optuna.trial import TrialState

from hpo.persist.liveness import WORKER_KEY
from hpo.search.summary import format_params, format_value


def _best_lines(study: optuna.Study) -> list[str]:
    """The best trial; a multi-objective study's Pareto set, one line per trial."""
    count = len(study.directions)
    names = study.metric_names or ([f"value{i}" for i in range(count)] if count > 1 else ["value"])
    if len(study.directions) > 1:
        pareto = sorted(study.best_trials, key=lambda t: t.number)
        if not pareto:
            return ["  Pareto set: — (no completed trial)"]
        lines = [f"  Pareto set: {len(pareto)} trial(s)"]
        for trial in pareto:
            pairs = zip(names, trial.values, strict=True)
            values = " ".join(f"{n} = {format_value(v)}" for n, v in pairs)
            lines.append(f"    #{trial.number} {values}  {format_params(trial.params)}")
        return lines
    try:
        best = study.best_trial
    except ValueError:
        return ["  best: — (no completed trial)"]
    value = f"{names[0]} = {format_value(best.value)}"
    return [f"  best: #{best.number} {value}  {format_params(best.params)}"]


def describe_study(study: optuna.Study, stale: set[int]) -> list[str]:
    trials = study.get_trials(deepcopy=False)
    counts = {s: sum(t.state == s for t in trials) for s in TrialState}
    lines = [
        f"{study.study_name}: {len(trials)} trials — "
        + ", ".join(f"{n} {s.name.lower()}" for s, n in counts.items() if n)
    ]
    lines += _best_lines(study)
    for trial in trials:
        if trial.state != TrialState.RUNNING:
            continue
        worker = trial.system_attrs.get(WORKER_KEY) or {}
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
