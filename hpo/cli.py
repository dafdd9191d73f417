"""What every `python -m hpo.*` command shares: one-line errors with exit code 2.

@cli_main("hpo.compare")
def main(argv: list[str] | None = None) -> int: ...
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from hpo.errors import UsageError

EXIT_USAGE = 2
EXIT_ABORTED = 1


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


MainFn = Callable[[Sequence[str] | None], int]


def cli_main(prog: str) -> Callable[[MainFn], MainFn]:
    """Turn UsageError anywhere below `main` into one line on stderr and exit code 2."""

    def decorate(main: MainFn) -> MainFn:
        @functools.wraps(main)
        def guarded(argv: Sequence[str] | None = None) -> int:
            try:
                return main(argv)
            except UsageError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return EXIT_USAGE

        return guarded

    return decorate
