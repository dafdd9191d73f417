"""Search methods for `hpo.compare` that are not Optuna samplers.

    hpo compare --methods lr_find,random,tpe --budget epochs:300 --experiment cmp

`lr_find` (seed 002): one LR range test per optimizer the space offers, then the rest of the
budget trains at the suggested learning rate, the other searched parameters drawn at random. The
range tests are paid for out of the same budget (their batches counted as epochs), so the
comparison with the samplers stays fair. On a replay table (`--objective table:…`) the range
tests still train for real (a few hundred batches on the table's dataset and model: seconds),
and the trials at the suggested rates are answered by the table.
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass, field, replace
from typing import Any

import optuna

from hpo.bench.compare import Job, make_objective, open_job_study, run_job_study
from hpo.config.run import RunConfig
from hpo.config.space import CategoricalParam, NumericParam, SearchSpace
from hpo.search.budget import Budget

RANGE_TEST_STEPS = 100


@dataclass(frozen=True)
class FixedLrSpace(SearchSpace):
    """The space, but a trial's `lr` is the range test's suggestion for its optimizer (recorded
    like a searched value, so the trial looks like any other)."""

    lr_by_optimizer: dict[str, float] = field(default_factory=dict)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        params = {name: p.suggest(trial) for name, p in self.params.items() if name != "lr"}
        lr = self.lr_by_optimizer[str(params.get("optimizer", ""))]
        return {**params, "lr": trial.suggest_float("lr", lr, lr), **self.fixed}


def typical_params(space: SearchSpace) -> dict[str, Any]:
    """Middle-of-the-range values for the range test: geometric or arithmetic mid of numeric
    ranges, the first choice of categoricals, the fixed values as they are."""
    params: dict[str, Any] = dict(space.fixed)
    for name, p in space.params.items():
        if isinstance(p, CategoricalParam):
            params[name] = p.choices[0]
        elif isinstance(p, NumericParam):
            mid = math.sqrt(p.low * p.high) if p.log else (p.low + p.high) / 2
            params[name] = round(mid) if p.kind == "int" else mid
    return params


def range_tests(config: RunConfig, space: SearchSpace) -> tuple[dict[str, float], float]:
    """Suggested LR per optimizer choice and the epochs the tests cost together."""
    from hpo.train.fit import build
    from hpo.train.lr_find import range_test

    base = typical_params(space)
    optimizer = space.params.get("optimizer")
    choices = optimizer.choices if isinstance(optimizer, CategoricalParam) else [""]
    lo, hi = _lr_bounds(space)
    suggestions: dict[str, float] = {}
    epochs = 0.0
    for choice in choices:
        params = {**base, **({"optimizer": choice} if choice else {})}
        with contextlib.redirect_stderr(io.StringIO()):  # the finder's own progress bar
            result = range_test(config, params, lo, hi, RANGE_TEST_STEPS)
        fallback = math.sqrt(lo * hi)  # no descent found: the middle of the range
        suggestions[str(choice)] = min(max(result.suggestion or fallback, lo), hi)
        built = build({**params, "lr": lo}, config, steps=False)  # as range_test trains
        batches = len(built.datamodule.train_dataloader())
        epochs += len(result.lrs) / max(batches, 1)
    return suggestions, epochs


def _lr_bounds(space: SearchSpace) -> tuple[float, float]:
    lr = space.params.get("lr")
    if isinstance(lr, NumericParam):
        return lr.low, lr.high
    return 1e-7, 10.0


def remaining_budget(budget: Budget, test_epochs: float, max_epochs: int) -> Budget:
    """The budget left after the range tests, in the budget's own unit."""
    if budget.unit == "epochs":
        return replace(budget, amount=budget.amount - test_epochs)
    if budget.unit == "trials":
        return replace(budget, amount=budget.amount - test_epochs / max_epochs)
    return budget  # seconds: the tests' seconds are not trial seconds; see the study attr


def run_lr_find_study(job: Job) -> str:
    """LR range test per optimizer, then the budget's rest at the suggested LR (seed 002)."""
    study, config, space = open_job_study(job, "random")
    found = study.user_attrs.get("lr_find")
    if found is None:  # a resumed study keeps the suggestions of its first run
        suggestions, epochs = range_tests(config, space)
        found = {"lr_by_optimizer": suggestions, "epochs": round(epochs, 3)}
        study.set_user_attr("lr_find", found)
    budget = remaining_budget(job.benchmark.budget, found["epochs"], config.max_epochs)
    job = replace(job, benchmark=replace(job.benchmark, budget=budget))
    fixed = FixedLrSpace(
        space.params, space.fixed, space.grid_points, space.source, found["lr_by_optimizer"]
    )
    return run_job_study(job, study, make_objective(job.benchmark, config, fixed), config)
