"""LR range test (seed 002; Smith 2015): a loss-vs-learning-rate sweep and a suggested LR.

    hpo lr_find --dataset fashion_mnist --model ethanet --plot lr_find.png
    hpo lr_find --preset seed002_transfer --set head_dim=512

Trains the configuration for `--steps` batches while the learning rate grows exponentially from
`--min-lr` to `--max-lr` (stopping early once the loss diverges), saves the loss-vs-LR plot and
prints the suggested LR (steepest descent of the smoothed loss). The hyperparameters are the
space's `fixed:` values plus `--set NAME=VALUE`; anything else keeps its component's default.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from hpo.cli.common import ArgumentParser, first_line
from hpo.config.run import RunConfig
from hpo.errors import UsageError


def build_parser(prog: str) -> ArgumentParser:
    d = RunConfig
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    p.add_argument("--preset", default=None, help="take dataset, model, space from a preset")
    p.add_argument("--dataset", default=None, help=f"default {d.dataset}")
    p.add_argument("--model", default=None, help=f"default {d.model}")
    p.add_argument("--space", default=None, help="its `fixed:` values are used")
    p.add_argument("--data-dir", default=None, help=f"default {d.data_dir}")
    p.add_argument("--seed", type=int, default=None, help="default 0")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--min-lr", type=float, default=1e-7)
    p.add_argument("--max-lr", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=100, help="batches in the sweep (default 100)")
    p.add_argument("--plot", default="lr_find.png", help="where to save the loss-vs-LR plot")
    return p


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """['head_dim=512', 'flip=true'] → {'head_dim': 512, 'flip': True} (YAML scalars)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--set takes NAME=VALUE, got {item!r}")
        out[name.strip()] = yaml.safe_load(value)
    return out


def config_from(args: Any) -> RunConfig:
    config = RunConfig()
    if args.preset:
        from hpo.config.presets import load_preset

        preset = load_preset(args.preset)
        keys = ("dataset", "model", "space", "data_dir")
        config = replace(config, **{k: v for k, v in preset.run.items() if k in keys})
    for name in ("dataset", "model", "space", "data_dir", "seed"):
        value = getattr(args, name)
        if value is not None:
            config = replace(config, **{name: value})
    return config


def main(argv: list[str], prog: str) -> int:
    from hpo.train.registries import DATASETS, MODELS
    from hpo.train.routing import check_params

    args = build_parser(prog).parse_args(argv)
    config = config_from(args)
    MODELS.check(config.model)
    DATASETS.check(config.dataset)
    space = config.load_space()
    params = {**space.fixed, **parse_assignments(args.set)}
    check_params(params, config.model, config.dataset)
    from hpo.search.logs import quiet_libraries
    from hpo.train.lr_find import range_test

    quiet_libraries(verbose=False)
    with contextlib.redirect_stderr(io.StringIO()):  # the finder's own progress bar
        result = range_test(config, params, args.min_lr, args.max_lr, args.steps, Path(args.plot))
    print(
        f"LR range test: {config.dataset}/{config.model}, {len(result.lrs)} steps from "
        f"{args.min_lr:g} to {args.max_lr:g}"
    )
    if result.suggestion is None:
        print("No suggestion: the sweep was too short (raise --steps or --max-lr).")
    else:
        print(f"Suggested learning rate: {result.suggestion:.3g}")
    print(f"Plot: {args.plot}")
    return 0
