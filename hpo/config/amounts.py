"""Amounts of training given as seconds or epochs: '120' or '120s' → 120 seconds, '15ep' or
'15epochs' → 15 epochs (used by --checkpoint-every; --cap reads the same way)."""

from __future__ import annotations

from dataclasses import dataclass

from hpo.errors import UsageError


@dataclass(frozen=True)
class Amount:
    amount: float
    unit: str  # "seconds" or "epochs"


def parse_amount(text: str, flag: str, allow_zero: bool = False) -> Amount:
    """The amount in `text`; a UsageError naming `flag` if it is not a positive (or, with
    `allow_zero`, zero) number of seconds or epochs."""
    raw, unit = text.strip().lower(), "seconds"
    for suffix, name in (("epochs", "epochs"), ("ep", "epochs"), ("s", "seconds")):
        if raw.endswith(suffix):
            raw, unit = raw[: -len(suffix)], name
            break
    try:
        amount = float(raw)
    except ValueError:
        amount = -1.0
    if (
        not (amount > 0 or (allow_zero and amount == 0))
        or amount != amount
        or amount == float("inf")
    ):
        least = "0 or more" if allow_zero else "a positive number of"
        raise UsageError(f"{flag} must be {least} seconds (120) or epochs (15ep), got {text!r}")
    return Amount(amount, unit)
