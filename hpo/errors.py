"""The one exception type that means "the user asked for something wrong", and its hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UsageError(Exception):
    """Bad input: the CLI prints the message on one line and exits with code 2."""


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """' (did you mean 'adam'?)' for a near miss among `choices`, else ''."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_choice(kind: str, word: object, choices: Iterable[str]) -> UsageError:
    """'unknown optimizer 'adamm' (did you mean 'adam'?); choose one of: …' as an error."""
    names = sorted(choices)
    return UsageError(
        f"unknown {kind} {word!r}{did_you_mean(word, names)}; choose one of: {', '.join(names)}"
    )
