"""The text a study prints about itself: values, parameters, durations, and the final summary.
Imports nothing heavy, so a finished study is summarised before Optuna or torch load."""

from __future__ import annotations

from collections.abc import Mapping
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
