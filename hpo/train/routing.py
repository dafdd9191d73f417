"""Route each hyperparameter to the part that takes it: model, data module, LightningModule, or
the objective itself (`repeats`: train each configuration k times, see hpo.search.objective).

    check_space(space, "mnist_cnn", "digits")   # names and choices, before torch loads
    routed = route(params, "mnist_cnn", "digits")

A name none of them accepts is a UsageError listing the names that are accepted; a value that
names a component (optimizer, lr_schedule, loss, …) must be one that exists ("did you mean …?"),
and a number must be one its factory accepts (no negative rotation, no batch of 0), so that a
bad space is one line before anything runs, not a failed trial after torch has loaded. The
accepted names come from the factories' signatures, read from source (hpo.registry).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
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
#: Hyperparameters the objective consumes itself rather than any component it builds
#: (`batches_per_step`: how a fit is cut into Lightning steps, hpo.train.fit.build).
OBJECTIVE_HYPERPARAMETERS = frozenset({"repeats", "batches_per_step"})
LIT_MODULE = "hpo.train.module:LitClassifier"

#: Hyperparameters whose values name something: the choices a space may give them.
NAMED_CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": tuple(OPTIMIZERS.names()),
    "lr_schedule": tuple(SCHEDULERS.names()),
    "loss": tuple(LOSSES.names()),
    "finetune_layers": ("last_block", "all"),  # hpo.train.models.resnet.FINETUNE_LAYERS
}
#: `pretrained:` is one of these names or the path of a weights file.
PRETRAINED_NAMES = ("imagenet", "none")
#: Yes/no hyperparameters (augmentation, data and model switches).
BOOLEANS = frozenset({"flip", "grayscale", "batch_norm"})


def _number(test: Callable[[float], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and test(float(v))


def _whole(low: int, high: float = math.inf) -> Callable[[Any], bool]:
    """A whole number (an int axis's ends are read as floats: 16.0 counts) in [low, high]."""
    return _number(lambda v: v.is_integer() and low <= v <= high)


#: Numbers a factory refuses at run time, checked up front: name → (accepts, what it needs).
NUMBERS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "lr": (_number(lambda v: v > 0), "a positive number"),
    "weight_decay": (_number(lambda v: v >= 0), "0 or more"),
    "momentum": (_number(lambda v: v >= 0), "0 or more"),
    "dropout": (_number(lambda v: 0 <= v <= 1), "between 0 and 1"),
    "rotation": (_number(lambda v: v >= 0), "0 or more degrees"),
    "scale": (_number(lambda v: 0 <= v < 1), "at least 0 and below 1 (a relative zoom)"),
    "noise": (_number(lambda v: v >= 0), "0 or more (a standard deviation)"),
    "val_fraction": (_number(lambda v: 0 < v < 1), "between 0 and 1"),
    "test_fraction": (_number(lambda v: 0 < v < 1), "between 0 and 1"),
    "finetune_epochs": (_whole(0, 5), "a whole number from 0 to 5"),
    "repeats": (_whole(1), "a whole number, at least 1"),
    "batches_per_step": (_whole(1), "a whole number, at least 1"),
    **{
        name: (_whole(1), "a whole number, at least 1")
        for name in (
            *("batch_size", "width", "base_filters", "kernel_size", "hidden", "head_dim"),
            *("lr_step_epochs", "resize"),
        )
    },
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
    """Every value a space may give a hyperparameter is one its factory accepts: an existing
    component's name, a yes/no, a number in range (for a numeric axis: its ends and grid)."""
    for name, choices in values.items():
        for value in choices:
            check_value(name, value)


def check_value(name: str, value: Any) -> None:
    allowed = NAMED_CHOICES.get(name)
    if allowed is not None and value not in allowed:
        raise unknown_choice(f"{name} choice", value, allowed)
    if name == "pretrained":
        _check_pretrained(value)
    if name in BOOLEANS and not isinstance(value, bool):
        raise UsageError(f"{name} takes true or false, got {value!r}")
    rule = NUMBERS.get(name)
    if rule is not None and not rule[0](value):
        raise UsageError(f"{name} must be {rule[1]}, got {value!r}")


def _check_pretrained(value: Any) -> None:
    """'imagenet', 'none', or a weights file that exists (a near miss of a name is a typo)."""
    text = str(value)
    if text in PRETRAINED_NAMES or (value is None):
        return
    path = Path(text).expanduser()
    looks_like_path = "/" in text or path.suffix in (".pth", ".pt")
    if not looks_like_path:
        raise UsageError(
            f"pretrained must be {' or '.join(PRETRAINED_NAMES)} or a weights file, got "
            f"{text!r}{did_you_mean(text, PRETRAINED_NAMES)}"
        )
    if not path.is_file():
        raise UsageError(
            f"pretrained weights file {path} does not exist; give a state_dict saved with "
            "torch.save, `pretrained: imagenet` or `pretrained: none`"
        )


def check_params(params: Mapping[str, Any], model: str, dataset: str) -> None:
    """One configuration (e.g. a `best` YAML file): names and values."""
    check_names(params, model, dataset)
    check_values({name: [value] for name, value in params.items()})


def route(params: Mapping[str, Any], model: str, dataset: str) -> Routed:
    """Split one trial's parameters; a name both the model and the module take goes to both."""
    check_names(params, model, dataset)
    targets = _targets(model, dataset)
    pick = {
        part: {k: v for k, v in params.items() if k in names} for part, names in targets.items()
    }
    return Routed(pick["model"], pick["data"], pick["module"], pick["objective"])
