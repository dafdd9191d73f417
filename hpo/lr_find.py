"""`python -m hpo.lr_find …`: the same as `hpo lr_find …` (see hpo.cli.lr_find)."""

from __future__ import annotations

from collections.abc import Sequence

from hpo.cli import run_command
from hpo.cli.quick_exit import run_and_exit


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("lr_find", argv, prog="python -m hpo.lr_find")


if __name__ == "__main__":
    run_and_exit(main)
