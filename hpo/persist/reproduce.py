"""The command that reproduces a study, stored on it (user attr `reproduce`, and its note).

    reproduce_command(config)   # '/…/.venv/bin/hpo study --dataset digits … --study-name NAME'

Every setting that differs from its default is spelled out, and every identity setting
(hpo.config.run.IDENTITY) always, so the command runs as pasted — from anywhere: the `hpo`
script and the space file by absolute path (hpo.persist.commands) — and, into a fresh storage,
proposes the same trials (with the number of workers the study ran with, which it spells out:
`--workers auto` is written as the count it chose). It never holds a password: the storage URL
is written without it (~/.pgpass or $HPO_STORAGE supply it).
"""

from __future__ import annotations

import shlex
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from hpo.config.run import IDENTITY, PROJECT_ROOT, RunConfig
from hpo.persist.commands import hpo_words
from hpo.persist.urls import absolute_url, redact

#: Fields written by hand (storage, name) or that only change what is printed.
NOT_FLAGS = {"storage", "study_name", "quiet", "verbose"}
#: Fields that are paths: written so that they resolve from any working directory.
PATHS = {"space", "data_dir", "checkpoint_dir"}


def reproduce_command(config: RunConfig) -> str:
    words = hpo_words("study", stored=True)
    defaults = RunConfig()
    if config.warm_start_from is not None and config.warm_start_storage is None:
        # the source's storage, spelled out: pasted with a fresh --storage, it still reads it
        config = replace(config, warm_start_storage=config.storage)
    for field in fields(RunConfig):
        value = getattr(config, field.name)
        if field.name in NOT_FLAGS or value is None:
            continue
        if (
            field.name in IDENTITY
            or field.name == "n_trials"
            or value != getattr(defaults, field.name)
        ):
            words += _flag(field.name, value)
    storage = redact(absolute_url(config.storage), mask=None)
    words += ["--storage", storage, "--study-name", config.name]
    return shlex.join(words)


def rerun_command(command: str, storage: str, subcommand: str = "compare") -> str:
    """A command line as it was run (e.g. `hpo compare …`, redacted), spelled to run as pasted
    from anywhere: the venv's `hpo`, the storage as an absolute URL without its password (also
    when it was the default), the space file by `_portable` path."""
    words = shlex.split(command)
    starts = [i for i, w in enumerate(words) if w in (subcommand, f"hpo.{subcommand}")]
    args = words[starts[0] + 1 :] if starts else words
    args = [a for a in args if not a.startswith("--storage=")]
    if "--storage" in args:
        del args[args.index("--storage") : args.index("--storage") + 2]
    if "--space" in args[:-1]:
        at = args.index("--space") + 1
        args[at] = _portable(args[at], in_project=True)
    url = redact(absolute_url(storage), mask=None)
    return shlex.join(hpo_words(subcommand, *args, "--storage", url, stored=True))


def _flag(name: str, value: Any) -> list[str]:
    """The command-line words that set one RunConfig field (hpo.cli.flags)."""
    if name == "artifacts":
        return [] if value else ["--no-artifacts"]
    flag = f"--{name.replace('_', '-')}"
    if name == "warm_start_storage":  # a URL: absolute, never its password
        return [flag, redact(absolute_url(value), mask=None)]
    if isinstance(value, bool):
        return [flag] if value else []
    return [flag, _portable(value, name == "space") if name in PATHS else str(value)]


def _portable(path: str, in_project: bool) -> str:
    """A path that names the same file from any working directory: absolute, or relative to
    the project for a space file inside it (hpo looks spaces up there too)."""
    if not Path(path).exists():
        return path
    absolute = Path(path).resolve()
    if in_project and absolute.is_relative_to(PROJECT_ROOT):
        return str(absolute.relative_to(PROJECT_ROOT))
    return str(absolute)
