"""Train one configuration (a `best` YAML file) from scratch and report its test accuracy.

    python -m hpo.study best > best.yaml
    python -m hpo.study retrain --params best.yaml [--max-epochs 30] [--save model.ckpt]

Same data split, seed and epochs as the trial, so the validation figure reproduces the trial's
value; the test split, never seen by the search, gives the accuracy to report.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hpo.cli import ArgumentParser, cli_main
from hpo.config import RunConfig
from hpo.errors import UsageError

KEYS = {"study", "trial", "metric", "value", "dataset", "model", "max_epochs", "seed", "params"}


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m hpo.study retrain", description=__doc__.splitlines()[0])
    p.add_argument("--params", required=True, help="YAML from `python -m hpo.study best`")
    p.add_argument("--max-epochs", type=int, default=None, help="default: the file's")
    p.add_argument("--seed", type=int, default=None, help="default: the file's")
    p.add_argument("--data-dir", default=RunConfig.data_dir, help="default %(default)s")
    p.add_argument("--save", default=None, help="write the trained weights (Lightning .ckpt)")
    p.add_argument("--verbose", action="store_true", help="Lightning's bars and summary")
    return p


def read_params_file(path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read --params {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(
            f"--params {path} is not valid YAML: {str(exc).splitlines()[0]}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        raise UsageError(f"--params {path} needs a 'params:' mapping (see `hpo.study best`)")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise UsageError(f"--params {path}: unknown key(s) {unknown}; allowed: {sorted(KEYS)}")
    return data


def config_for(data: dict[str, Any], args) -> RunConfig:
    d = RunConfig
    config = RunConfig(
        dataset=data.get("dataset", d.dataset),
        model=data.get("model", d.model),
        metric=data.get("metric", d.metric),
        max_epochs=args.max_epochs or data.get("max_epochs") or d.max_epochs,
        seed=data.get("seed", d.seed) if args.seed is None else args.seed,
        data_dir=args.data_dir,
        verbose=args.verbose,
    )
    if config.max_epochs < 1:
        raise UsageError(f"--max-epochs must be at least 1, got {config.max_epochs}")
    return config


def retrain(params: dict[str, Any], config: RunConfig, save: str | None) -> dict[str, float]:
    """Fit, then test; returns the metric's value (as a trial would) and the test accuracy."""
    from hpo.curve import EpochCurve
    from hpo.metrics import create_metric
    from hpo.objective import build, make_trainer
    from hpo.study import quiet_libraries

    quiet_libraries(config.verbose)
    built = build(params, config)
    curve = EpochCurve()
    trainer = make_trainer(config, [curve])
    trainer.fit(built.module, datamodule=built.datamodule)
    tested = trainer.test(built.module, datamodule=built.datamodule, verbose=False)[0]
    if save:
        trainer.save_checkpoint(save, weights_only=True)
    return {
        config.metric: create_metric(config.metric, config.cap).value(curve.rows),
        "test_acc": float(tested["test_acc"]),
        "test_loss": float(tested["test_loss"]),
    }


@cli_main("hpo.study retrain")
def main(argv: Sequence[str] | None = None) -> int:
    from hpo.routing import check_names

    args = build_parser().parse_args(argv)
    data = read_params_file(args.params)
    config = config_for(data, args)
    check_names(data["params"], config.model, config.dataset)
    if args.save and not Path(args.save).resolve().parent.is_dir():
        raise UsageError(f"cannot write --save {args.save}: its directory does not exist")
    origin = f"trial #{data['trial']} of {data['study']!r}" if "trial" in data else args.params
    print(
        f"Retraining {origin}: {config.dataset}/{config.model}, {config.max_epochs} epochs, "
        f"seed {config.seed}"
    )
    result = retrain(data["params"], config, args.save)
    stored = f" (the study recorded {data['value']:.4f})" if "value" in data else ""
    print(f"{config.metric} = {result[config.metric]:.4f}{stored}")
    print(f"test_acc = {result['test_acc']:.4f}  test_loss = {result['test_loss']:.4f}")
    if args.save:
        print(f"Weights saved to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
