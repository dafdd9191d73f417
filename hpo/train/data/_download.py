"""Find a dataset's files under --data-dir, or fetch them with torchvision; offline, say where
to put them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from hpo.errors import UsageError


def find_dir(candidates: Sequence[Path], needed: Sequence[str]) -> Path | None:
    """The first candidate directory holding every file in `needed` (each also as `.gz`)."""
    for directory in candidates:
        if all(_existing(directory / name) for name in needed):
            return directory
    return None


def _existing(path: Path) -> Path | None:
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def existing_file(directory: Path, name: str) -> Path:
    """`name` or `name.gz` in `directory` (find_dir has checked that one exists)."""
    found = _existing(directory / name)
    if found is None:
        raise UsageError(f"{directory / name} is missing")
    return found


def fetch_or_explain(
    title: str, download: Callable[[], object], expected: Path, files: Sequence[str], url: str
) -> None:
    """Run torchvision's download; if it fails (no internet), a UsageError naming the files."""
    try:
        download()
    except Exception as exc:  # torchvision raises RuntimeError/URLError/OSError by mirror
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise UsageError(
            f"{title} not found and could not be downloaded ({reason}); put "
            f"{', '.join(files)} in {expected} (from {url}) or pass --data-dir where they are"
        ) from None
