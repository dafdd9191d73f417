"""A study's best configuration as YAML, ready for `hpo retrain`; a multi-objective study's
Pareto set.

    hpo best -o best.yaml          (hpo.cli.best)
    hpo retrain --params best.yaml

The YAML holds what the retrain needs, taken from the study itself: dataset, model, epochs, seed,
metric, and every hyperparameter (the searched ones of the best trial and the space's fixed ones).
A multi-objective study has no single best trial: `pareto_set` lists every trial of its Pareto
set (`study.best_trials`) with its values, and `best_configuration(study, trial=N)` picks one.
"""

from __future__ import annotations

import shlex
from typing import Any

import yaml
from optuna.trial import TrialState

from hpo.errors import UsageError


def best_configuration(study, trial: int | None = None) -> dict[str, Any]:
    """The best trial (or trial number `trial`, COMPLETE) as plain data (the `--params` file
    format). A multi-objective study's `metric` and `value` are its first objective's."""
    chosen = _chosen_trial(study, trial)
    identity = study.user_attrs.get("identity", {})
    fixed = identity.get("space", {}).get("fixed", {})
    return {
        "study": study.study_name,
        "trial": chosen.number,
        "metric": _metric_names(study)[0],
        **({"cap": identity["cap"]} if identity.get("cap") is not None else {}),
        "value": chosen.values[0],
        "dataset": identity.get("dataset", "digits"),
        "model": identity.get("model", "mnist_cnn"),
        "max_epochs": chosen.user_attrs.get("epochs", identity.get("max_epochs")),
        "seed": identity.get("seed", 0),
        "params": {**chosen.params, **fixed},
    }


def _chosen_trial(study, number: int | None):  # -> FrozenTrial
    if number is not None:
        done = {t.number: t for t in study.get_trials(states=(TrialState.COMPLETE,))}
        if number not in done:
            raise UsageError(
                f"study {study.study_name!r} has no COMPLETE trial #{number}; "
                f"its completed trials: {_ranges(sorted(done))}"
            )
        return done[number]
    if len(study.directions) > 1:
        raise UsageError(
            f"study {study.study_name!r} has {len(study.directions)} objectives, so no single "
            "best trial: see its Pareto set (`hpo best`) and pick one with --trial N"
        )
    try:
        return study.best_trial
    except ValueError:
        raise UsageError(f"study {study.study_name!r} has no completed trial yet") from None


def _ranges(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:20])) + (" …" if len(numbers) > 20 else "") or "none"


def _metric_names(study) -> list[str]:
    identity_metric = study.user_attrs.get("identity", {}).get("metric", "val_acc")
    names = [name.strip() for name in identity_metric.split(",")]
    return names if len(names) == len(study.directions) else list(study.metric_names or names)


def is_multi_objective(study) -> bool:
    return len(study.directions) > 1


def pareto_set(study) -> dict[str, Any]:
    """A multi-objective study's Pareto set: each trial's values (by metric) and parameters."""
    names = _metric_names(study)
    pareto = sorted(study.best_trials, key=lambda t: t.number)
    if not pareto:
        raise UsageError(f"study {study.study_name!r} has no completed trial yet")
    return {
        "study": study.study_name,
        "objectives": {
            name: d.name.lower() for name, d in zip(names, study.directions, strict=True)
        },
        "pareto_set": [
            {
                "trial": t.number,
                "values": dict(zip(names, t.values, strict=True)),
                "params": dict(t.params),
            }
            for t in pareto
        ],
    }


def to_yaml(config: dict[str, Any]) -> str:
    if "pareto_set" in config:
        header = (
            f"# Pareto set of study {config['study']!r}: {len(config['pareto_set'])} trial(s), "
            "none beaten by another trial on every objective\n"
            f"# Retrain one: hpo best --study-name {shlex.quote(config['study'])} --trial N "
            "-o best.yaml; hpo retrain --params best.yaml\n"
        )
        return header + yaml.safe_dump(config, sort_keys=False)
    header = (
        f"# Best trial #{config['trial']} of study {config['study']!r}: "
        f"{config['metric']} = {config['value']:.4f}\n"
        "# Retrain it: hpo retrain --params THIS_FILE\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False)
