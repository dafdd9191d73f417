"""What every command shares: one-line errors with exit code 2, the exit codes, the storage flag
and the flags that say which study a read command reads."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from hpo.config.run import RunConfig
from hpo.errors import UsageError, one_line
from hpo.persist.urls import STORAGE_HELP, default_storage

EXIT_USAGE = 2
EXIT_ABORTED = 1


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see --help)\n")


def first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc else ""


def add_storage_flag(parser: argparse.ArgumentParser) -> None:
    """--storage, defaulting to $HPO_STORAGE (read now, not when this module loaded)."""
    parser.add_argument("--storage", default=default_storage(), metavar="URL", help=STORAGE_HELP)


def add_study_flags(parser: argparse.ArgumentParser) -> None:
    """Which study a read command reads: --study-name; else the one `hpo study` would run with
    the same --dataset/--model/--sampler; else the storage's only study (hpo.persist.studies)."""
    d = RunConfig
    parser.add_argument("--study-name", default=None, metavar="NAME", help="the study to read")
    which = "without --study-name: the study `hpo study` runs with the same flag (default %s)"
    parser.add_argument("--dataset", default=d.dataset, metavar="NAME", help=which % d.dataset)
    parser.add_argument("--model", default=d.model, metavar="NAME", help=which % d.model)
    parser.add_argument("--sampler", default=d.sampler, metavar="NAME", help=which % d.sampler)


def default_study_name(args: argparse.Namespace) -> str:
    """The name `hpo study` gives a study run with these --dataset/--model/--sampler flags."""
    return RunConfig(dataset=args.dataset, model=args.model, sampler=args.sampler).name


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary file beside `path` to write; renamed onto `path` only if the block succeeds,
    so an error never leaves an empty or half-written file."""
    target = check_output_path(path)
    fd, tmp = tempfile.mkstemp(
        dir=target.resolve().parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def check_output_path(path: str | Path) -> Path:
    """An output file's directory exists and the path is not a directory (checked up front)."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"cannot write {target}: it is a directory; give a file name")
    if not target.resolve().parent.is_dir():
        raise UsageError(f"cannot write {target}: its directory does not exist")
    return target
