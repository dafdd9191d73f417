"""`python -m hpo.lr_find …`: the same as `hpo lr_find …` (see hpo.cli.lr_find)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hpo.cli import run_command


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("lr_find", argv, prog="python -m hpo.lr_find")


if __name__ == "__main__":
    sys.exit(main())
