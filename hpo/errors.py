"""The one exception type that means "the user asked for something wrong", and its hint."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

#: What `str.splitlines` breaks at, and the other control characters: escaped in messages.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class UsageError(Exception):
    """Bad input: the CLI prints the message on one line and exits with code 2. Line breaks
    and control characters in it (from a file name, a URL, a value) are escaped, as `repr`
    would, so that the message is one line whatever the input."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def one_line(text: object) -> str:
    """`text` with line breaks and control characters escaped as `repr` writes them."""
    return _BREAKS.sub(lambda m: repr(m.group())[1:-1], str(text))


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
