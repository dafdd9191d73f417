"""Print a study's best configuration as YAML, ready for `python -m hpo.study retrain`.

    python -m hpo.study best > best.yaml
    python -m hpo.study best --storage URL --study-name NAME -o best.yaml
    python -m hpo.study retrain --params best.yaml

The YAML holds what the retrain needs, taken from the study itself: dataset, model, epochs, seed,
metric, and every hyperparameter (the searched ones of the best trial and the space's fixed ones).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hpo.cli import ArgumentParser, cli_main
from hpo.config import DEFAULT_STORAGE
from hpo.errors import UsageError


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m hpo.study best", description=__doc__.splitlines()[0])
    p.add_argument("-o", "--output", default="-", help="file (default: stdout)")
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="storage URL (default %(default)s)")
    p.add_argument("--study-name", default=None, help="needed when the storage holds several")
    return p


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
        "# Retrain it: python -m hpo.study retrain --params THIS_FILE\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False)


@cli_main("hpo.study best")
def main(argv: Sequence[str] | None = None) -> int:
    from hpo.stored import load_existing_study

    args = build_parser().parse_args(argv)
    study = load_existing_study(args.storage, args.study_name)
    text = to_yaml(best_configuration(study))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        if not Path(args.output).parent.is_dir():
            raise UsageError(f"cannot write {args.output}: its directory does not exist")
        Path(args.output).write_text(text)
        print(f"Wrote the best configuration to {args.output}.", file=sys.stderr)
    return 0
