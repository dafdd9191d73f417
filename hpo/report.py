"""`python -m hpo.report …`: the same as `hpo report …` (see hpo.cli.report)."""

from __future__ import annotations

from collections.abc import Sequence

from hpo.cli import run_command
from hpo.cli.quick_exit import run_and_exit


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("report", argv, prog="python -m hpo.report")


if __name__ == "__main__":
    run_and_exit(main)
