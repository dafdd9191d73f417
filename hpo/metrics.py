"""Objective metrics by name: what a trial's value is, which way is better, what pruning watches.

metric = create_metric("val_acc")       # or "val_loss"; "name:arg" passes an argument
metric.value(curve)                      # curve: one dict of logged values per epoch
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hpo.errors import UsageError
from hpo.registry import Registry

Curve = Sequence[dict[str, float]]


@dataclass(frozen=True)
class Metric:
    name: str
    direction: str  # "maximize" or "minimize"
    monitor: str  # the per-epoch value reported to the pruner
    value: Callable[[Curve], float]  # the trial's final value from its epoch curve


METRICS: Registry[Callable[[str | None], Metric]] = Registry("metric")


def create_metric(spec: str) -> Metric:
    name, _, arg = spec.partition(":")
    return METRICS.get(name)(arg or None)


def _finite(curve: Curve, key: str) -> list[float]:
    return [row[key] for row in curve if key in row and math.isfinite(row[key])]


def _no_argument(name: str, arg: str | None) -> None:
    if arg is not None:
        raise UsageError(f"metric {name} takes no argument, got {name}:{arg}")


@METRICS.register("val_acc")
def val_acc(arg: str | None) -> Metric:
    """Best validation accuracy over the epochs trained (maximise)."""
    _no_argument("val_acc", arg)
    return Metric(
        "val_acc", "maximize", "val_acc", lambda c: max(_finite(c, "val_acc"), default=0.0)
    )


@METRICS.register("val_loss")
def val_loss(arg: str | None) -> Metric:
    """Lowest validation cross-entropy over the epochs trained (minimise)."""
    _no_argument("val_loss", arg)
    return Metric(
        "val_loss", "minimize", "val_loss", lambda c: min(_finite(c, "val_loss"), default=math.inf)
    )
