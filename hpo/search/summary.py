"""The text a study prints about itself: values, parameters, durations, and the final summary.
Imports nothing heavy, so a finished study is summarised before Optuna or torch load."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class BestLike(Protocol):
    number: int
    value: float | None
    params: dict[str, Any]
    user_attrs: dict[str, Any]


def format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.4g}"
    return str(value)


def format_params(params: Mapping[str, object]) -> str:
    return " ".join(f"{k}={format_value(v)}" for k, v in params.items())


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def summary_text(
    study_name: str, counts: Mapping[str, int], metric: str, best: BestLike | None
) -> str:
    """Counts by state (names as TrialState's) and the best trial with its parameters."""
    lines = [
        f"Study {study_name!r}: {sum(counts.values())} trials — "
        f"{counts.get('COMPLETE', 0)} complete, {counts.get('PRUNED', 0)} pruned, "
        f"{counts.get('FAIL', 0)} failed"
    ]
    if best is None or best.value is None:
        lines.append("No trial has completed yet.")
        return "\n".join(lines)
    lines.append(
        f"Best trial #{best.number}: {metric} = {best.value:.4f} "
        f"({best.user_attrs.get('epochs', '?')} epochs, "
        f"{best.user_attrs.get('wall_seconds', 0):.1f} s)"
    )
    lines += [f"  {name}: {format_value(value)}" for name, value in best.params.items()]
    return "\n".join(lines)


class TrialLike(Protocol):
    number: int
    values: list[float] | None
    params: dict[str, Any]


def pareto_text(
    metrics: Sequence[str], directions: Sequence[str], pareto: Sequence[TrialLike]
) -> str:
    """A multi-objective study's Pareto set: one line per trial, its values and parameters."""
    goals = ", ".join(
        f"{name} {'↑' if d.lower() == 'maximize' else '↓'}"
        for name, d in zip(metrics, directions, strict=True)
    )
    if not pareto:
        return "No trial has completed yet."
    lines = [f"Pareto set ({goals}): {len(pareto)} trial(s) no other trial beats on every metric"]
    for trial in sorted(pareto, key=lambda t: t.number):
        values = " ".join(
            f"{name}={format_value(v)}"
            for name, v in zip(metrics, trial.values or [], strict=True)
        )
        lines.append(f"  #{trial.number}: {values}  {format_params(trial.params)}")
    return "\n".join(lines)
