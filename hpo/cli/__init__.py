"""The `hpo` command: one subcommand per job, each `hpo <command> --help`.

    hpo study --sampler tpe          hpo compare --samplers grid,random,tpe --experiment cmp
    hpo report --experiment cmp      hpo dashboard
    hpo status | export | best | retrain | lr_find | replay build

`python -m hpo.study …` (and hpo.compare, hpo.report, hpo.dashboard, hpo.lr_find, hpo.replay)
run the same commands. This package only parses arguments and prints; each command imports the
layers it needs once its arguments are valid, so bad input is answered before torch loads.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from hpo import __version__
from hpo.cli.common import EXIT_USAGE, first_line
from hpo.cli.quick_exit import run_and_exit
from hpo.errors import UsageError, unknown_choice

#: command → module under hpo.cli (each has `main(argv, prog) -> int` and a docstring)
COMMANDS = {
    "study": "study",
    "compare": "compare",
    "report": "report",
    "dashboard": "dashboard",
    "status": "status",
    "export": "export",
    "best": "best",
    "retrain": "retrain",
    "lr_find": "lr_find",
    "replay": "replay",
}


def run_command(name: str, argv: Sequence[str] | None = None, prog: str = "hpo") -> int:
    """Run one command; a UsageError anywhere below is one line on stderr and exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    shown = prog if prog != "hpo" else f"hpo {name}"
    try:
        module = importlib.import_module(f"hpo.cli.{COMMANDS[name]}")
        return module.main(args, shown)
    except UsageError as exc:
        print(f"{shown}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse's --help, --version and flag errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


def overview() -> str:
    lines = [
        "usage: hpo <command> [options]   (hpo <command> --help for its options)",
        "",
        "Hyperparameter search for image CNNs with Optuna and PyTorch Lightning.",
        "",
        "commands:",
    ]
    width = max(map(len, COMMANDS))
    for name, module in COMMANDS.items():
        source = (Path(__file__).parent / f"{module}.py").read_text()
        lines.append(f"  {name:<{width}}  {first_line(ast.get_docstring(ast.parse(source)))}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The `hpo` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(overview())
        return 0 if args else EXIT_USAGE
    if args[0] == "--version":
        print(f"hpo {__version__}")
        return 0
    if args[0] not in COMMANDS:
        exc = unknown_choice("command", args[0], COMMANDS)
        print(f"hpo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run_command(args[0], args[1:])


def console() -> NoReturn:
    """The `hpo` console script and `python -m hpo` (hpo.cli.quick_exit)."""
    run_and_exit(main)
