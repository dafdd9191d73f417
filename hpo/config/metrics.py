"""Objective metrics by name: what a trial's value is, which way is better, what pruning watches.

metric = create_metric("val_acc")       # or "val_loss"; "name:arg" passes an argument
metric.value(curve)                      # curve: one dict of logged values per epoch
create_metric("time_to_acc:0.97", cap="120")   # seconds to 97 % train accuracy, capped
metrics = create_metrics("val_acc,n_params")   # several objectives: a multi-objective study
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpo.errors import UsageError
from hpo.registry import Registry

Curve = Sequence[dict[str, float]]


def NEVER_DONE(curve: Curve) -> bool:  # noqa: N802 (a constant: "this metric never stops a fit")
    return False


def NO_PRUNED_VALUE(curve: Curve) -> None:  # noqa: N802 (a constant: Optuna's value is right)
    return None


@dataclass(frozen=True)
class Metric:
    name: str
    direction: str  # "maximize" or "minimize"
    monitor: str  # the per-epoch value reported to the pruner
    value: Callable[[Curve], float]  # the trial's final value from its epoch curve
    #: extra trial attrs from the curve (e.g. whether a target was reached)
    attrs: Callable[[Curve], dict[str, Any]] = field(default=lambda curve: {})
    #: True once training can stop because the value can no longer change
    done: Callable[[Curve], bool] = NEVER_DONE
    #: (value, why) of a trial stopped early, when its last reported `monitor` value is not in
    #: the metric's unit (hpo.search.callbacks.pruned_value); None: Optuna's default is right
    pruned: Callable[[Curve], tuple[float, str] | None] = NO_PRUNED_VALUE
    #: a cost of the fit that is no accuracy: only a second objective (val_acc,n_params)
    secondary: bool = False


METRICS = Registry(
    "metric",
    {
        name: f"hpo.config.metrics:{name}"
        for name in (
            "val_acc", "val_loss", "time_to_acc", "time_to_val_acc", "train_seconds", "n_params"
        )
    },
)  # fmt: skip

#: Metrics that may not be in a list of several objectives: their value is capped and pruned
#: by hand (hpo.search.callbacks.pruned_value), which assumes one objective.
SINGLE_ONLY = ("time_to_acc", "time_to_val_acc")


def create_metric(spec: str, cap: str | None = None) -> Metric:
    """`spec` is "name" or "name:arg"; `cap` (e.g. "120", "120s", "15ep") only for time_to_*."""
    name, _, arg = spec.partition(":")
    factory = METRICS.get(name)
    if "cap" in METRICS.parameters(name):
        return factory(arg or None, cap=cap)
    if cap is not None:
        raise UsageError(f"--cap applies to time_to_* metrics only, not to {name}")
    return factory(arg or None)


def create_metrics(spec: str, cap: str | None = None) -> list[Metric]:
    """'val_acc' → one metric; 'val_acc,train_seconds' → one per objective, in that order.

    A list names each metric once and holds no time_to_* metric; its first metric is a goal
    (val_acc, val_loss), not a cost (train_seconds, n_params): the study's checkpoints and
    artifacts call the trial best by it."""
    names = [part.strip() for part in spec.split(",")]
    if len(names) > 1:
        _check_list(names)
    metrics = [create_metric(name, cap) for name in names]
    if metrics[0].secondary:
        goal = next((m.name for m in metrics if not m.secondary), "val_acc")
        raise UsageError(
            f"--metric {spec}: {metrics[0].name} is a cost, not a goal; name a goal first, "
            f"e.g. --metric {goal},{metrics[0].name}"
        )
    return metrics


def _check_list(names: list[str]) -> None:
    for name in names:
        if not name:
            raise UsageError("--metric has an empty name: separate metrics with one comma")
        if name.partition(":")[0] in SINGLE_ONLY:
            raise UsageError(
                f"--metric: {name} cannot be one of several objectives (its capped value "
                "assumes one); use it alone or pick val_acc, val_loss, train_seconds, n_params"
            )
        METRICS.check(name.partition(":")[0])
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UsageError(f"--metric names {repeated[0]} twice; give each objective once")


def metric_values(metrics: Sequence[Metric], curve: Curve, facts: dict[str, float]) -> list[float]:
    """Each metric's value: from the epoch curve, or (n_params) a fact of the fit."""
    return [facts[m.name] if m.name in facts else m.value(curve) for m in metrics]


def _finite(curve: Curve, key: str) -> list[float]:
    return [row[key] for row in curve if key in row and math.isfinite(row[key])]


def _no_argument(name: str, arg: str | None) -> None:
    if arg is not None:
        raise UsageError(f"metric {name} takes no argument, got {name}:{arg}")


def val_acc(arg: str | None) -> Metric:
    """Best validation accuracy over the epochs trained (maximise)."""
    _no_argument("val_acc", arg)
    return Metric(
        "val_acc", "maximize", "val_acc", lambda c: max(_finite(c, "val_acc"), default=0.0)
    )


def val_loss(arg: str | None) -> Metric:
    """Lowest validation cross-entropy over the epochs trained (minimise)."""
    _no_argument("val_loss", arg)
    return Metric(
        "val_loss", "minimize", "val_loss", lambda c: min(_finite(c, "val_loss"), default=math.inf)
    )


@dataclass(frozen=True)
class Cap:
    """The most a trial may take to reach a target: `amount` seconds or epochs."""

    amount: float
    unit: str  # "seconds" or "epochs"


def parse_cap(text: str | None) -> Cap:
    """'120' or '120s' → 120 seconds; '15ep' or '15epochs' → 15 epochs."""
    if text is None:
        raise UsageError(
            "time_to_* metrics need --cap: seconds (--cap 120) or epochs (--cap 15ep)"
        )
    raw = text.strip().lower()
    unit = "seconds"
    for suffix, name in (("epochs", "epochs"), ("ep", "epochs"), ("s", "seconds")):
        if raw.endswith(suffix):
            raw, unit = raw[: -len(suffix)], name
            break
    try:
        amount = float(raw)
    except ValueError:
        amount = -1.0
    if not amount > 0:
        raise UsageError(
            f"--cap must be a positive number of seconds or epochs (15ep), got {text!r}"
        )
    return Cap(amount, unit)


def time_to_target(key: str, target: float, cap: Cap, curve: Curve) -> float | None:
    """Seconds (`elapsed_s`) or epochs until `key` first reaches `target` within the cap."""
    for epoch, row in enumerate(curve, 1):
        value = row.get(key)
        if value is None or not math.isfinite(value) or value < target:
            continue
        spent = float(row.get("elapsed_s", math.inf)) if cap.unit == "seconds" else epoch
        return spent if spent <= cap.amount else None
    return None


def _time_to(key: str, name: str, arg: str | None, cap_text: str | None) -> Metric:
    try:
        target = float(arg) if arg is not None else math.nan
    except ValueError:
        target = math.nan
    if not 0 < target <= 1:
        raise UsageError(f"{name} needs a target accuracy in (0, 1], e.g. {name}:0.97")
    cap = parse_cap(cap_text)

    def value(curve: Curve) -> float:
        reached = time_to_target(key, target, cap, curve)
        return cap.amount if reached is None else reached

    def attrs(curve: Curve) -> dict[str, Any]:
        reached = time_to_target(key, target, cap, curve) is not None
        return {"reached_target": reached, "target": f"{key}>={target:g}", "cap": cap.amount}

    def done(curve: Curve) -> bool:
        if not curve or time_to_target(key, target, cap, curve) is not None:
            return bool(curve)
        last = curve[-1]
        spent = float(last.get("elapsed_s", 0.0)) if cap.unit == "seconds" else len(curve)
        return spent >= cap.amount

    def pruned(curve: Curve) -> tuple[float, str]:
        reached = time_to_target(key, target, cap, curve)
        if reached is None:
            return (
                cap.amount,
                f"the cap ({cap.amount:g} {cap.unit}): stopped before {key}>={target:g}",
            )
        return reached, f"{reached:g} {cap.unit} to {key}>={target:g}, then stopped"

    # Pruning watches val_loss: like the value it is minimised, and it exists every epoch.
    return Metric(f"{name}:{target:g}", "minimize", "val_loss", value, attrs, done, pruned)


def time_to_acc(arg: str | None, cap: str | None = None) -> Metric:
    """Seconds (or epochs) to reach a train accuracy, e.g. time_to_acc:0.97 --cap 120 (minimise).

    As in seed 003: a trial that never reaches it within the cap scores the cap."""
    return _time_to("train_acc", "time_to_acc", arg, cap)


def time_to_val_acc(arg: str | None, cap: str | None = None) -> Metric:
    """Like time_to_acc, on validation accuracy: time_to_val_acc:0.95 --cap 10ep (minimise)."""
    return _time_to("val_acc", "time_to_val_acc", arg, cap)


def train_seconds(arg: str | None) -> Metric:
    """Training seconds up to the last epoch (minimise; pair it: val_acc,train_seconds)."""
    _no_argument("train_seconds", arg)
    return Metric(
        "train_seconds",
        "minimize",
        "val_loss",
        lambda c: max(_finite(c, "elapsed_s"), default=math.inf),
        secondary=True,
    )


def n_params(arg: str | None) -> Metric:
    """Trainable parameters of the network (minimise; pair it: val_acc,n_params)."""
    _no_argument("n_params", arg)
    return Metric("n_params", "minimize", "val_loss", lambda c: math.inf, secondary=True)
