"""Tune small, reuse big: another study's best configurations run first in a new study.

    source = source_study(config)              # a UsageError if it does not exist
    notes = warm_start(study, source, config.warm_start_top, space)   # once per study

`--warm-start-from STUDY` enqueues (`Study.enqueue_trial`) the `--warm-start-top K` best
COMPLETE trials of STUDY as the new study's first trials. Best means: by the source's
direction; for a multi-objective source, its Pareto set (`best_trials`) first, then the other
trials, each group ordered by the first objective. Only parameters the new space searches are
kept (its fixed values apply as always; a parameter the source did not search is left to the
sampler); a number outside the new range is clipped to it, and a configuration with a choice
the new space does not offer is skipped. Each is noted. It happens once: the study's system
attr `hpo:warm_started` records it under the study lock, so a resumed study (or a second
worker) does not enqueue again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from hpo.config.run import RunConfig
from hpo.config.space import CategoricalParam, NumericParam, SearchSpace
from hpo.persist.internals import base_storage, study_id
from hpo.persist.locks import study_lock
from hpo.persist.studies import load_existing_study

DONE_KEY = "hpo:warm_started"


def source_study(config: RunConfig) -> optuna.Study:
    """The study named by --warm-start-from, read-only; a one-line error (with "did you mean")
    if its storage does not hold it."""
    url = config.warm_start_storage or config.storage
    return load_existing_study(url, config.warm_start_from)


def ranked(source: optuna.Study) -> list[FrozenTrial]:
    """COMPLETE trials, best first (see the module docstring for a multi-objective source)."""
    done = [t for t in source.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    sign = -1 if source.directions[0] == StudyDirection.MAXIMIZE else 1
    first = [t for t in done if t.values and math.isfinite(t.values[0])]
    pareto = {t.number for t in source.best_trials} if len(source.directions) > 1 else set()
    return sorted(first, key=lambda t: (t.number not in pareto, sign * t.values[0], t.number))


def fit_to_space(params: dict[str, Any], space: SearchSpace) -> tuple[dict[str, Any], str]:
    """The params the new space searches, clipped into its ranges; ({}, why) if one does not
    fit at all. The second item is a note ("" when nothing changed)."""
    out, notes = {}, []
    for name, value in params.items():
        param = space.params.get(name)
        if param is None:
            continue
        if isinstance(param, CategoricalParam):
            if value not in param.choices:
                return {}, f"{name}={value!r} is not a choice of the new space"
            out[name] = value
            continue
        fitted = _clip(param, value)
        if fitted is None:
            return {}, f"{name}={value!r} is not a number"
        if fitted != value:
            notes.append(f"{name} {value:g} → {fitted:g}")
        out[name] = fitted
    return out, ("clipped " + ", ".join(notes)) if notes else ""


def _clip(param: NumericParam, value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    clipped = min(max(float(value), param.low), param.high)
    if param.step:
        steps = round((clipped - param.low) / param.step)
        clipped = min(param.low + steps * param.step, param.high)
    return int(round(clipped)) if param.kind == "int" else clipped


def warm_start(
    study: optuna.Study, source: optuna.Study, top: int, space: SearchSpace
) -> list[str]:
    """Enqueue the source's `top` best configurations that fit `space`, unless this study was
    warm-started before; one printable line per configuration (or none)."""
    storage, lock = base_storage(study), study_lock(study)
    lock.acquire()
    try:
        if storage.get_study_system_attrs(study_id(study)).get(DONE_KEY):
            return []
        lines = _enqueue(study, ranked(source)[:top], space, source.study_name)
        storage.set_study_system_attr(study_id(study), DONE_KEY, source.study_name)
    finally:
        lock.release()
    return lines


def _enqueue(
    study: optuna.Study, best: Sequence[FrozenTrial], space: SearchSpace, source: str
) -> list[str]:
    lines = [f"Warm start: the {len(best)} best trial(s) of {source!r} run first."]
    if not best:
        lines[0] = f"Warm start: {source!r} has no completed trial; nothing enqueued."
    for trial in best:
        params, note = fit_to_space(trial.params, space)
        if not params:
            lines.append(f"  #{trial.number} skipped: {note or 'no parameter of this space'}")
            continue
        origin = {"warm_start": f"{source}#{trial.number}"}
        study.enqueue_trial(params, user_attrs=origin, skip_if_exists=True)
        lines.append(f"  #{trial.number} enqueued" + (f" ({note})" if note else ""))
    return lines
