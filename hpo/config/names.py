"""Study and experiment names: which a user may choose, and the folder a study's files go to.

    check_name("--study-name", "../../x")   # UsageError: names become folders under studies/
    study_folder("cmp/tpe/seed0")            # 'cmp_tpe_seed0': always one path component

Checkpoints (`<root>/<folder>/trial_<n>/`) and per-trial logs (`studies/<folder>/`) use
`study_folder`, so no study name, however it was made, can point outside its root.
`hpo compare` builds its own names `<experiment>/<method>/seed<k>`: only the parts users give
(--study-name, --experiment) are checked.
"""

from __future__ import annotations

import re

from hpo.errors import UsageError

_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")


def check_name(flag: str, name: str | None) -> None:
    """A UsageError for a name that could not be a folder of its own."""
    if name is None:
        return
    if not name.strip():
        raise UsageError(f"{flag} must not be empty")
    if _UNSAFE.search(name) or ".." in name:
        raise UsageError(
            f"{flag} {name!r} cannot name a study: it names folders under studies/, so it may "
            "not contain '/', '\\', '..' or control characters"
        )


def study_folder(name: str) -> str:
    """One path component for `name`: characters other than letters, digits, `_.-` become `_`,
    and so do leading dots (never '.', '..' or a hidden folder)."""
    folder = re.sub(r"[^\w.-]", "_", name)
    folder = re.sub(r"^\.+", lambda dots: "_" * len(dots.group()), folder)
    return folder or "_"
