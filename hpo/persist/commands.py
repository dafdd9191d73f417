"""How the commands hpo prints and stores are spelled, so that they work as pasted.

    hpo_words("best", "-o", "best.yaml")       # ['hpo', 'best', …] or ['.venv/bin/hpo', …]
    script("optuna-dashboard")                 # 'optuna-dashboard' or '.venv/bin/optuna-dashboard'

A console script of this interpreter's venv (`hpo`, `optuna-dashboard`) is spelled by name only
when the shell would find this very copy on PATH (the venv is active); otherwise by its path, so
that the command works without activating the venv. Stored commands (`stored=True`) use absolute
paths: they are pasted later, from anywhere. Nothing here imports Optuna.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from hpo.persist.urls import default_storage, file_path, redact, scheme_of


def script(name: str, stored: bool = False) -> str | None:
    """How to call this interpreter's console script `name`; None if the venv has no such script.
    (sys.executable is not resolved: a venv's python is a link to the base interpreter.)"""
    here = Path(sys.executable).parent / name
    if not here.is_file():
        return None
    found = shutil.which(name)
    if not stored and found and Path(found).resolve() == here.resolve():
        return name
    return str(here.absolute()) if stored else _shown(here)


def hpo_words(*args: str, stored: bool = False) -> list[str]:
    """An `hpo` command line (`python -m hpo …` where hpo is not installed as a script)."""
    hpo = script("hpo", stored)
    return [hpo, *args] if hpo else [_python(stored), "-m", "hpo", *args]


def dashboard_words(storage_url: str) -> list[str]:
    """optuna-dashboard on the storage, as pasted into this shell (the venv need not be active;
    the password left out: ~/.pgpass, or `hpo dashboard` with $HPO_STORAGE, supply it)."""
    where = file_path(storage_url) if scheme_of(storage_url) == "journal" else storage_url
    return [script("optuna-dashboard") or "optuna-dashboard", redact(str(where), mask=None)]


def hpo_dashboard_hint(storage_url: str) -> str:
    """`hpo dashboard`, which wires in the artifact store (--storage only if not the default)."""
    storage = [] if storage_url == default_storage() else ["--storage", redact(storage_url, None)]
    return shlex.join(hpo_words("dashboard", *storage))


def _shown(path: Path) -> str:
    """`path` relative to the working directory when inside it, else absolute."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _python(stored: bool) -> str:
    found = shutil.which("python")
    if not stored and found and Path(found).absolute() == Path(sys.executable).absolute():
        return "python"
    return str(Path(sys.executable).absolute()) if stored else _shown(Path(sys.executable))
