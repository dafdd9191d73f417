"""Route each hyperparameter to the part that takes it: model, data module, LightningModule, or
the objective itself (`repeats`: train each configuration k times, see `hpo.objective`).

A name none of them accepts is a UsageError listing the names that are accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hpo.data import datamodule_hyperparameters
from hpo.errors import UsageError
from hpo.lit_module import module_hyperparameters
from hpo.models import model_hyperparameters


@dataclass(frozen=True)
class Routed:
    model: dict[str, Any]
    data: dict[str, Any]
    module: dict[str, Any]
    objective: dict[str, Any] = field(default_factory=dict)


#: Hyperparameters the objective consumes itself rather than any component it builds.
OBJECTIVE_HYPERPARAMETERS = frozenset({"repeats"})


def _targets(model: str, dataset: str) -> dict[str, set[str]]:
    return {
        "model": model_hyperparameters(model),
        "data": datamodule_hyperparameters(dataset),
        "module": module_hyperparameters(),
        "objective": set(OBJECTIVE_HYPERPARAMETERS),
    }


def check_names(names: Iterable[str], model: str, dataset: str) -> None:
    targets = _targets(model, dataset)
    known = set().union(*targets.values())
    unknown = sorted(set(names) - known)
    if unknown:
        raise UsageError(
            f"unknown hyperparameter(s) {unknown} for model {model!r} and dataset {dataset!r}; "
            f"declare only: {', '.join(sorted(known))}"
        )


def route(params: Mapping[str, Any], model: str, dataset: str) -> Routed:
    """Split one trial's parameters; a name both the model and the module take goes to both."""
    check_names(params, model, dataset)
    targets = _targets(model, dataset)
    pick = {
        part: {k: v for k, v in params.items() if k in names} for part, names in targets.items()
    }
    return Routed(pick["model"], pick["data"], pick["module"], pick["objective"])
