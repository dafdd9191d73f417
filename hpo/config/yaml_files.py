"""A user's YAML file (search space, preset) read into plain data: any problem is one
UsageError naming the file.

    data = read_yaml(Path("conf/spaces/default.yaml"))
"""

from __future__ import annotations

from pathlib import Path

import yaml

from hpo.errors import UsageError


def read_yaml(path: Path) -> object:
    """The file's data. Read as bytes, so PyYAML decodes UTF-8 and UTF-16 (by their BOM) and
    refuses anything else as a YAML error."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise UsageError(f"{path}: malformed YAML{line}; fix the syntax") from None
    except Exception as exc:  # PyYAML's constructors raise bare ValueError, TypeError, … for
        # a scalar they cannot build: a date like 2001-02-30, `!!int x`, `!!timestamp x`
        raise UsageError(f"{path}: unreadable YAML value ({exc}); quote it or fix it") from None
