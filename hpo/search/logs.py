"""What libraries print while a study runs: Optuna's log and Lightning's lines and warnings
only with --verbose."""

from __future__ import annotations

import logging


def quiet_libraries(verbose: bool) -> None:
    import optuna

    from hpo.train.quiet import quiet_lightning

    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.INFO if verbose else logging.WARNING)
    quiet_lightning(verbose)
