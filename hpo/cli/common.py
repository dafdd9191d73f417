"""What every command shares: one-line errors with exit code 2, and the exit codes."""

from __future__ import annotations

import argparse
from typing import NoReturn

EXIT_USAGE = 2
EXIT_ABORTED = 1


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc else ""
