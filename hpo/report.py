"""`python -m hpo.report …`: the same as `hpo report …` (see hpo.cli.report)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hpo.cli import run_command


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("report", argv, prog="python -m hpo.report")


if __name__ == "__main__":
    sys.exit(main())
