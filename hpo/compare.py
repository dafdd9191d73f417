"""`python -m hpo.compare …`: the same as `hpo compare …` (see hpo.cli.compare)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hpo.cli import run_command


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("compare", argv, prog="python -m hpo.compare")


if __name__ == "__main__":
    sys.exit(main())
