"""Run or resume an Optuna study of Lightning-trained CNNs.

    hpo study --sampler tpe                  # the default study on digits
    hpo study --sampler grid --n-trials 50   # same space, exhaustive grid
    hpo study --list                         # models, datasets, samplers, pruners, metrics
    hpo study --preset seed004_ethanet       # a seed experiment (--list-presets)
    hpo study --workers 2 --storage postgresql://user@host/db   # 2 trials at a time

Running the same command again continues the study to its --n-trials total; a killed or
interrupted trial is re-run from its last epoch checkpoint. (`python -m hpo.study` is the same
command; `hpo study status|export|best|retrain|lr_find` run those commands.)
"""

from __future__ import annotations

import argparse
import shlex
import sys

from hpo import __version__
from hpo.cli.common import ArgumentParser, first_line
from hpo.cli.flags import STUDY_FLAGS, add_flags
from hpo.config.presets import Preset, describe_presets, load_preset
from hpo.config.run import run_config
from hpo.persist.urls import redact

#: `hpo study NAME …` hands the rest of the line to the command NAME (as `python -m hpo.study`
#: always has).
SUBCOMMANDS = ("status", "export", "best", "retrain", "lr_find")


def build_parser(prog: str) -> argparse.ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    add_flags(p, STUDY_FLAGS)
    p.add_argument(
        "--preset",
        default=None,
        metavar="NAME",
        help="a seed experiment from conf/presets/ (or a preset YAML): its settings become the "
        "defaults, flags still override",
    )
    p.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    p.add_argument(
        "--list", action="store_true", help="list models, datasets, samplers, pruners, metrics"
    )
    p.add_argument("--version", action="version", version=f"hpo {__version__}")
    return p


def main(argv: list[str], prog: str) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        from hpo.cli import run_command

        return run_command(argv[0], argv[1:], f"{prog} {argv[0]}")
    parser = build_parser(prog)
    preset = preset_from_argv(argv, prog)
    if preset is not None:
        parser.set_defaults(**preset.run)
    args = parser.parse_args(argv)
    if args.list:
        print(list_components())
        return 0
    if args.list_presets:
        print(describe_presets())
        return 0
    config = run_config(vars(args))
    from hpo.search.validate import validate, with_fallback

    validate(config)
    if preset is not None:
        config, note = with_fallback(config, preset)
        if note:
            print(f"{prog}: note: {note}", file=sys.stderr)
    command = redact(shlex.join([*shlex.split(prog), *argv]))  # stored on the study, printed
    from hpo.search.run import run

    return run(config, command)


def preset_from_argv(argv: list[str], prog: str) -> Preset | None:
    """The preset named by --preset, read before the full parse so it can supply defaults."""
    pre = ArgumentParser(prog=prog, add_help=False)
    pre.add_argument("--preset", default=None)
    known, _ = pre.parse_known_args(argv)
    return None if known.preset is None else load_preset(known.preset)


def list_components() -> str:
    from hpo.config.metrics import METRICS
    from hpo.search.registries import PRUNERS, SAMPLERS
    from hpo.train.registries import DATASETS, MODELS

    registries = {
        "models": MODELS,
        "datasets": DATASETS,
        "samplers": SAMPLERS,
        "pruners": PRUNERS,
        "metrics": METRICS,
    }
    width = max(len(name) for registry in registries.values() for name in registry.names())
    out = []
    for title, registry in registries.items():
        out.append(f"{title}:")
        out += [f"  {name:<{width}}  {doc}" for name, doc in registry.describe().items()]
    return "\n".join(out)
