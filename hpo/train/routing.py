"""Route each hyperparameter to the part that takes it: model, data module, LightningModule, or
the objective itself (`repeats`: train each configuration k times, see hpo.search.objective).

    check_space(space, "mnist_cnn", "digits")   # names and choices, before torch loads
    routed = route(params, "mnist_cnn", "digits")

A name none of them accepts is a UsageError listing the names that are accepted; a value that
names a component (optimizer, lr_schedule, loss, …) must be one that exists. The accepted
names come from the factories' signatures, read from source (hpo.registry): no torch import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hpo.errors import UsageError, did_you_mean, unknown_choice
from hpo.registry import source_parameters
from hpo.train.registries import DATASETS, LOSSES, MODELS, OPTIMIZERS, SCHEDULERS

#: Arguments every model factory receives from the data module, never from the search space.
DATA_SHAPE_ARGS = frozenset({"in_channels", "num_classes", "image_size"})
#: Arguments the framework passes to every dataset factory, never set from the search space.
FRAMEWORK_ARGS = frozenset({"seed", "data_dir"})
#: LightningModule arguments that are not hyperparameters.
MODULE_ARGS = frozenset({"net", "num_classes"})
#: Hyperparameters the objective consumes itself rather than any component it builds.
OBJECTIVE_HYPERPARAMETERS = frozenset({"repeats"})
LIT_MODULE = "hpo.train.module:LitClassifier"

#: Hyperparameters whose values name something: the choices a space may give them.
NAMED_CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": tuple(OPTIMIZERS.names()),
    "lr_schedule": tuple(SCHEDULERS.names()),
    "loss": tuple(LOSSES.names()),
    "finetune_layers": ("last_block", "all"),
}


@dataclass(frozen=True)
class Routed:
    model: dict[str, Any]
    data: dict[str, Any]
    module: dict[str, Any]
    objective: dict[str, Any] = field(default_factory=dict)


def model_hyperparameters(name: str) -> set[str]:
    """The names a search space may set for this model."""
    return set(MODELS.parameters(name)) - DATA_SHAPE_ARGS


def datamodule_hyperparameters(name: str) -> set[str]:
    """The names a search space may set for this dataset (e.g. batch_size)."""
    return set(DATASETS.parameters(name)) - FRAMEWORK_ARGS


def module_hyperparameters() -> set[str]:
    """The names a search space may set for the LightningModule."""
    return set(source_parameters(LIT_MODULE)) - MODULE_ARGS


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
        hint = did_you_mean(unknown[0], known)
        raise UsageError(
            f"unknown hyperparameter(s) {unknown}{hint} for model {model!r} and dataset "
            f"{dataset!r}; declare only: {', '.join(sorted(known))}"
        )


def check_values(values: Mapping[str, Iterable[Any]]) -> None:
    """Every value a space may give a component-naming hyperparameter names one that exists."""
    for name, choices in values.items():
        allowed = NAMED_CHOICES.get(name)
        if allowed is None:
            continue
        for value in choices:
            if value not in allowed:
                raise unknown_choice(f"{name} choice", value, allowed)


def route(params: Mapping[str, Any], model: str, dataset: str) -> Routed:
    """Split one trial's parameters; a name both the model and the module take goes to both."""
    check_names(params, model, dataset)
    targets = _targets(model, dataset)
    pick = {
        part: {k: v for k, v in params.items() if k in names} for part, names in targets.items()
    }
    return Routed(pick["model"], pick["data"], pick["module"], pick["objective"])
