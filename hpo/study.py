"""`python -m hpo.study …`: the same as `hpo study …` (see hpo.cli.study)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hpo.cli import run_command


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("study", argv, prog="python -m hpo.study")


if __name__ == "__main__":
    sys.exit(main())
