"""`python -m hpo.dashboard …`: the same as `hpo dashboard …` (see hpo.cli.dashboard)."""

from __future__ import annotations

from collections.abc import Sequence

from hpo.cli import run_command
from hpo.cli.quick_exit import run_and_exit


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("dashboard", argv, prog="python -m hpo.dashboard")


if __name__ == "__main__":
    run_and_exit(main)
