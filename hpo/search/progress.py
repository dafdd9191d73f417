"""Console output of a study: a live bar on a terminal, one line per trial, a final summary."""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter

import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

from hpo.search.summary import (
    format_params,
    format_seconds,
    format_value,
    pareto_text,
    summary_text,
)


def trial_line(trial: FrozenTrial, metric: str) -> str:
    value = "—" if trial.values is None else ",".join(_value(v) for v in trial.values)
    if trial.state == TrialState.PRUNED and trial.intermediate_values:
        value = f"({trial.intermediate_values[max(trial.intermediate_values)]:.4f})"
    epochs = trial.user_attrs.get("epochs", "?")
    seconds = trial.user_attrs.get("wall_seconds", 0.0)
    line = (
        f"#{trial.number:<4d} {trial.state.name:<8s} {metric}={value:<8s} "
        f"{epochs:>3} ep {seconds:6.1f} s  {format_params(trial.params)}"
    )
    reason = trial.user_attrs.get("stop_reason", "")
    if trial.state == TrialState.FAIL or reason.startswith("diverged"):
        line += f"  [{reason}]"
    return line


def _value(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 10 else format_value(value)


class ConsoleProgress:
    """Optuna callback: a tqdm bar on a terminal, a line per trial, best so far and ETA."""

    def __init__(self, total: int, done: int, metric: str, quiet: bool = False) -> None:
        self.total, self.done, self.metric, self.quiet = total, done, metric, quiet
        self.start = time.monotonic()
        self.ran = 0
        self.bar = tqdm(
            total=total,
            initial=min(done, total),
            unit="trial",
            file=sys.stderr,
            disable=quiet or not sys.stderr.isatty(),
            # A terminal reporting 0 columns (some ptys) would get an empty bar.
            dynamic_ncols=shutil.get_terminal_size((0, 0)).columns > 0,
            ncols=None if shutil.get_terminal_size((0, 0)).columns > 0 else 100,
        )

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            self.done += 1
            self.bar.update(1)
        self.ran += 1
        if self.quiet:
            return
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.ran * max(self.total - self.done, 0)
        best_text = _best_text(study)
        self.bar.set_postfix_str(best_text)
        tqdm.write(
            f"[{min(self.done, self.total):>3d}/{self.total}] {trial_line(trial, self.metric)}"
            f"  | {best_text}  {format_seconds(elapsed)} elapsed, ETA {format_seconds(eta)}",
            file=sys.stdout,
        )

    def close(self) -> None:
        self.bar.close()


def _best(study: optuna.Study) -> FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:
        return None


def _best_text(study: optuna.Study) -> str:
    if len(study.directions) > 1:
        return f"Pareto set {len(study.best_trials)} trial(s)"
    best = _best(study)
    return f"best {best.value:.4f} (#{best.number})" if best else "best —"


def summary(study: optuna.Study, metric: str) -> str:
    """Counts by state and the best trial with its parameters (a multi-objective study: its
    Pareto set), as printed at the end."""
    counts = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    if len(study.directions) == 1:
        return summary_text(study.study_name, counts, metric, _best(study))
    head = summary_text(study.study_name, counts, metric, None).splitlines()[0]
    names = study.metric_names or [f"objective {i}" for i in range(len(study.directions))]
    directions = [d.name for d in study.directions]
    return head + "\n" + pareto_text(names, directions, study.best_trials)
