"""A study's best configuration as YAML, ready for `hpo retrain`.

    hpo best -o best.yaml          (hpo.cli.best)
    hpo retrain --params best.yaml

The YAML holds what the retrain needs, taken from the study itself: dataset, model, epochs, seed,
metric, and every hyperparameter (the searched ones of the best trial and the space's fixed ones).
"""

from __future__ import annotations

from typing import Any

import yaml

from hpo.errors import UsageError


def best_configuration(study) -> dict[str, Any]:
    """The best trial as plain data (the `--params` file format)."""
    try:
        best = study.best_trial
    except ValueError:
        raise UsageError(f"study {study.study_name!r} has no completed trial yet") from None
    identity = study.user_attrs.get("identity", {})
    fixed = identity.get("space", {}).get("fixed", {})
    return {
        "study": study.study_name,
        "trial": best.number,
        "metric": identity.get("metric", "val_acc"),
        **({"cap": identity["cap"]} if identity.get("cap") is not None else {}),
        "value": best.value,
        "dataset": identity.get("dataset", "digits"),
        "model": identity.get("model", "mnist_cnn"),
        "max_epochs": best.user_attrs.get("epochs", identity.get("max_epochs")),
        "seed": identity.get("seed", 0),
        "params": {**best.params, **fixed},
    }


def to_yaml(config: dict[str, Any]) -> str:
    header = (
        f"# Best trial #{config['trial']} of study {config['study']!r}: "
        f"{config['metric']} = {config['value']:.4f}\n"
        "# Retrain it: hpo retrain --params THIS_FILE\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False)
