"""`--objective table:PATH`: open a table of either kind, check a space against it, replay it.

    objective = table_objective("hpo/tables/digits_5d.json.gz", space, metric, 15, seed=0)

A lookup table (hpo.bench.replay: learning rate × optimizer, nearest row) or a surrogate table
(hpo.bench.surrogate: any configuration of its space); both answer a trial with a curve that
`replay_curve` reports epoch by epoch, so pruners act as in a real run.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from typing import Any

import optuna

from hpo.bench.replay import (
    Table,
    TableObjective,
    check_space,
    load_table,
    replay_curve,
    table_file,
)
from hpo.bench.surrogate import KIND, SurrogateTable, describe_model, surrogate_from_data
from hpo.config.metrics import Metric
from hpo.config.space import CategoricalParam, NumericParam, SearchSpace
from hpo.errors import UsageError


@lru_cache(maxsize=4)
def open_table(path: str) -> Table | SurrogateTable:
    """The table in the file, whichever kind it is."""
    file = table_file(path)
    try:
        with gzip.open(file, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        if isinstance(data, dict) and data.get("kind") == KIND:
            return surrogate_from_data(data, str(file))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path} is not a replay table ({type(exc).__name__}: {exc})") from None
    return load_table(path)


def check_table_space(space: SearchSpace, table: Table | SurrogateTable, max_epochs: int) -> None:
    """Refuse a space the table cannot answer, before any study opens."""
    if isinstance(table, Table):
        check_space(space, table, max_epochs)
        return
    if max_epochs > table.max_epochs:
        raise UsageError(
            f"--max-epochs {max_epochs} exceeds the table's {table.max_epochs} recorded epochs"
        )
    known = table.space.params
    extra = sorted(set(space.params) - set(known))
    if extra:
        raise UsageError(
            f"the table answers only {sorted(known)}; the space also searches {extra}"
        )
    unset = sorted(set(known) - set(space.params) - set(space.fixed))
    if unset:
        raise UsageError(f"the table varies {unset}: search them or fix them in the space")
    for name, param in space.params.items():
        _check_within(name, [*_ends(param)], known[name])
    for name, value in space.fixed.items():
        if name in known:
            _check_within(name, [value], known[name])


def _ends(param: CategoricalParam | NumericParam) -> list[Any]:
    return list(param.choices) if isinstance(param, CategoricalParam) else [param.low, param.high]


def _check_within(name: str, values: list[Any], known: CategoricalParam | NumericParam) -> None:
    if isinstance(known, CategoricalParam):
        outside = [v for v in values if v not in known.choices]
        if outside:
            raise UsageError(f"{name}: {outside} not in the table's choices {list(known.choices)}")
    elif any(not known.low <= float(v) <= known.high for v in values):
        raise UsageError(
            f"{name}: {values} reaches outside the table's range [{known.low:g}, {known.high:g}]"
        )


class SurrogateObjective:
    """Optuna objective answered by a surrogate table's predicted curve."""

    def __init__(self, table: SurrogateTable, space: SearchSpace, metric: Metric, max_epochs: int):
        check_table_space(space, table, max_epochs)
        self.table, self.space, self.metric, self.max_epochs = table, space, metric, max_epochs

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.space.suggest(trial)
        rows = self.table.curve(params)[: self.max_epochs]
        return replay_curve(trial, rows, self.metric, self.table.num_classes)


def describe_table(path: str) -> dict[str, Any]:
    """What a report says about the table a comparison replayed (stored on each study)."""
    table = open_table(path)
    if isinstance(table, Table):
        return {
            "kind": "lookup",
            "answers": "nearest learning rate (log scale), a seeded repeat",
            "fits": len(table.lrs) * len(table.optimizers) * table.repeats,
        }
    fidelity = table.meta.get("fidelity", {})
    return {
        "kind": KIND,
        "answers": describe_model(table.model_name),
        "fits": len(table.fits),
        "held_out": fidelity.get("held_out", {}),
    }


def table_objective(
    path: str, space: SearchSpace, metric: Metric, max_epochs: int, seed: int
) -> TableObjective | SurrogateObjective:
    table = open_table(path)
    if isinstance(table, SurrogateTable):
        return SurrogateObjective(table, space, metric, max_epochs)
    return TableObjective(path, space, metric, max_epochs, seed)
