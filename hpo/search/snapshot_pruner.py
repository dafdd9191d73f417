"""`SnapshotPruner`: a pruner that judges a trial only against the trials that had finished when
it started, read once instead of every epoch.

    study.pruner = SnapshotPruner(MedianPruner(...), finished_trials)

Two reasons, one mechanism. Speed: Optuna's pruners re-read every trial of the study from the
storage at every epoch of every trial; a snapshot taken when the trial starts is read once and
then judged in memory. Reproducibility: with several workers, which trials have finished when a
trial is judged depends on timing; judging against the trials told before it was asked
(hpo.search.parallel) makes every decision a function of the seed alone. With one worker
nothing finishes while a trial runs, so the decisions are exactly the wrapped pruner's.

Written by hand: Optuna has no pruner that sees a fixed set of trials. The wrapped pruner runs
unchanged on an in-memory study holding the snapshot (other trials as failed placeholders, so
trial numbers, which Hyperband uses, stay the same); anything it records on the trial (successive
halving's rung values) is copied to the real trial.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial, TrialState

from hpo.persist.internals import base_storage, read_when_sampled, trial_id


class SnapshotPruner(BasePruner):
    """`trials`: the study's trials at the snapshot, or a function reading them, called at the
    first `prune` (a trial that never reports reads nothing); only finished ones are kept."""

    def __init__(
        self,
        pruner: BasePruner,
        trials: Sequence[FrozenTrial] | Callable[[], Sequence[FrozenTrial]],
    ) -> None:
        self.pruner = pruner
        self._trials = trials
        self._finished: dict[int, FrozenTrial] | None = None
        self._view: optuna.Study | None = None
        self._view_trial: tuple[int, int] | None = None  # (real number, id in the view)
        self._copied: dict[str, Any] = {}

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        view, view_id = self._view_of(study, trial)
        storage = base_storage(view)
        reported = storage.get_trial(view_id).intermediate_values
        for step, value in trial.intermediate_values.items():
            if step not in reported:
                storage.set_trial_intermediate_value(view_id, step, value)
        decision = self.pruner.prune(view, storage.get_trial(view_id))
        self._copy_records(study, trial, storage.get_trial(view_id))
        return decision

    def _view_of(self, study: optuna.Study, trial: FrozenTrial) -> tuple[optuna.Study, int]:
        if self._view is not None and self._view_trial and self._view_trial[0] == trial.number:
            return self._view, self._view_trial[1]
        view = optuna.create_study(
            study_name=study.study_name,
            directions=study.directions,
            storage=optuna.storages.InMemoryStorage(),
        )
        if self._finished is None:
            trials = self._trials() if callable(self._trials) else self._trials
            self._finished = {t.number: t for t in trials if t.state.is_finished()}
        placeholder = optuna.trial.create_trial(state=TrialState.FAIL)
        view.add_trials([_bare(self._finished.get(n, placeholder)) for n in range(trial.number)])
        running = optuna.trial.create_trial(
            state=TrialState.RUNNING,
            params=trial.params,
            distributions=trial.distributions,
            system_attrs=dict(trial.system_attrs),
        )
        view.add_trial(running)
        self._view, self._copied = view, dict(trial.system_attrs)
        self._view_trial = (trial.number, trial_id(view.get_trials(deepcopy=False)[-1]))
        return self._view, self._view_trial[1]

    def _copy_records(self, study: optuna.Study, real: FrozenTrial, seen: FrozenTrial) -> None:
        """What the wrapped pruner wrote on the trial in the view, written on the real trial."""
        for key, value in seen.system_attrs.items():
            if self._copied.get(key, object()) != value:
                base_storage(study).set_trial_system_attr(trial_id(real), key, value)
                self._copied[key] = value


def _bare(trial: FrozenTrial) -> FrozenTrial:
    """What a pruner reads of a finished trial: its state, values, reports and system attrs
    (successive halving's rungs). Params and user attrs (a replayed trial's curve) are left
    out: the view is rebuilt for every trial, and copying them made a study's pruning cost
    grow with the square of its trials."""
    return optuna.trial.create_trial(
        state=trial.state,
        values=trial.values,
        intermediate_values=trial.intermediate_values,
        system_attrs=trial.system_attrs,
    )


def judge_against_finished(
    study: optuna.Study, trials: Sequence[FrozenTrial] | None = None
) -> None:
    """Make the study's pruner judge its next trial against the study's finished trials
    (`trials`: as already read; default: as the sampler read them for it, or else as read when
    the trial first reports)."""
    pruner = study.pruner
    inner = pruner.pruner if isinstance(pruner, SnapshotPruner) else pruner
    study.pruner = SnapshotPruner(inner, trials if trials is not None else _reader(study))


def _reader(study: optuna.Study) -> Callable[[], Sequence[FrozenTrial]]:
    """The trials the sampler read for this trial (no storage read), else a read now."""
    return lambda: read_when_sampled(study) or study.get_trials(deepcopy=False)
