"""File-system questions about a path a user typed, answered without raising.

is_file(Path("x" * 300))   # False (pathlib raises "File name too long")
"""

from __future__ import annotations

from pathlib import Path


def is_file(path: Path) -> bool:
    """`path.is_file()`, False where pathlib raises for the name itself (too long for the file
    system; pathlib already answers False for a NUL byte)."""
    try:
        return path.is_file()
    except OSError:
        return False
