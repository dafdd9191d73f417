"""Train a study's best configuration again from scratch and report its test accuracy.

    hpo retrain                                   # the default study's best trial
    hpo retrain --storage URL --study-name NAME [--max-epochs 30] [--save model.ckpt]
    hpo best -o best.yaml && hpo retrain --params best.yaml     # or from a `best` file

Same data split, seed and epochs as the trial, so the validation figure reproduces the trial's
value; the test split, never seen by the search, gives the accuracy to report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpo.cli.common import (
    ArgumentParser,
    add_storage_flag,
    add_study_flags,
    default_study_name,
    first_line,
)
from hpo.config.run import RunConfig
from hpo.errors import UsageError


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    p.add_argument("--params", default=None, help="YAML from `hpo best` (default: the study's)")
    add_storage_flag(p)
    add_study_flags(p)
    p.add_argument("--max-epochs", type=int, default=None, help="default: the trial's")
    p.add_argument("--seed", type=int, default=None, help="default: the study's")
    p.add_argument("--data-dir", default=RunConfig.data_dir, help="default %(default)s")
    p.add_argument("--save", default=None, help="write the trained weights (Lightning .ckpt)")
    p.add_argument("--verbose", action="store_true", help="Lightning's bars and summary")
    return p


def config_for(data: dict[str, Any], args: Any) -> RunConfig:
    d = RunConfig
    config = RunConfig(
        dataset=data.get("dataset", d.dataset),
        model=data.get("model", d.model),
        metric=data.get("metric", d.metric),
        cap=data.get("cap"),
        max_epochs=args.max_epochs or data.get("max_epochs") or d.max_epochs,
        seed=data.get("seed", d.seed) if args.seed is None else args.seed,
        data_dir=args.data_dir,
        verbose=args.verbose,
    )
    if config.max_epochs < 1:
        raise UsageError(f"--max-epochs must be at least 1, got {config.max_epochs}")
    return config


def best_of_study(args: Any) -> dict[str, Any]:
    """The best configuration of the study chosen as every read command chooses it."""
    from hpo.analysis.best import best_configuration
    from hpo.persist.studies import load_existing_study

    study = load_existing_study(args.storage, args.study_name, default_study_name(args))
    return best_configuration(study)


def main(argv: list[str], prog: str) -> int:
    from hpo.analysis.retrain import read_params_file
    from hpo.train.routing import check_params

    args = build_parser(prog).parse_args(argv)
    if args.save and not Path(args.save).resolve().parent.is_dir():
        raise UsageError(f"cannot write --save {args.save}: its directory does not exist")
    data = read_params_file(args.params) if args.params else best_of_study(args)
    config = config_for(data, args)
    check_params(data["params"], config.model, config.dataset)
    origin = f"trial #{data['trial']} of {data['study']!r}" if "trial" in data else args.params
    print(
        f"Retraining {origin}: {config.dataset}/{config.model}, {config.max_epochs} epochs, "
        f"seed {config.seed}"
    )
    from hpo.analysis.retrain import retrain

    result = retrain(data["params"], config, args.save)
    stored = f" (the study recorded {data['value']:.4f})" if "value" in data else ""
    print(f"{config.metric} = {result[config.metric]:.4f}{stored}")
    print(f"test_acc = {result['test_acc']:.4f}  test_loss = {result['test_loss']:.4f}")
    if args.save:
        print(f"Weights saved to {args.save}")
    return 0
