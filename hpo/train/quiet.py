"""Lightning's log lines and warnings only with --verbose, set without importing Lightning (a
process that only coordinates workers never loads it)."""

from __future__ import annotations

import logging
import warnings


def quiet_lightning(verbose: bool) -> None:
    """Lightning's log lines and warnings only with --verbose. Lightning's import sets its own
    log level, so this must come after it: `make_trainer` and the LR range test call it as they
    build a Trainer, so their callers need not (`quiet_libraries` sets it with Optuna's)."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:
        warnings.filterwarnings("ignore", module="lightning")
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
