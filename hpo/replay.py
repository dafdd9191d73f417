"""`python -m hpo.replay …`: the same as `hpo replay …` (see hpo.cli.replay)."""

from __future__ import annotations

from collections.abc import Sequence

from hpo.cli import run_command
from hpo.cli.quick_exit import run_and_exit


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("replay", argv, prog="python -m hpo.replay")


if __name__ == "__main__":
    run_and_exit(main)
