"""Build a replay table (hpo.bench.replay) from real fits: every optimizer × log-spaced learning
rate × repeat, trained to the end (no pruning), each trial kept in a storage so a stopped build
resumes, and two processes (one with --reverse) share the work.

    hpo replay build --out hpo/tables/digits_mnist_cnn.json.gz --max-epochs 20
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from hpo.bench.replay import COLUMNS, Table, save_table
from hpo.config.metrics import create_metric
from hpo.config.run import RunConfig
from hpo.errors import UsageError
from hpo.persist.storages import open_storage
from hpo.search.objective import run_trial


def build(args: Any, command: str) -> Path:
    import lightning.pytorch  # noqa: F401  (its import sets its log level: quiet it after)
    import torch

    from hpo.search.logs import quiet_libraries

    torch.set_num_threads(args.threads)
    quiet_libraries(False)
    optimizers = args.optimizers.split(",")
    lrs = [float(v) for v in np.geomspace(args.lr_low, args.lr_high, args.n_lrs)]
    study = optuna.create_study(
        storage=open_storage(args.storage),
        study_name=f"replay-build:{args.dataset}:{args.model}:{args.max_epochs}",
        pruner=optuna.pruners.NopPruner(),
        direction="maximize",
        load_if_exists=True,
    )
    # Repeat-major order: a build stopped halfway already covers every point once.
    jobs = [
        {"optimizer": o, "lr_index": i, "repeat": r}
        for r in range(args.repeats)
        for i in range(len(lrs))
        for o in optimizers
    ]
    if args.reverse:
        jobs.reverse()
    started = datetime.now()
    metric = create_metric("val_acc")
    fixed = {"batch_size": args.batch_size, "width": args.width}

    def objective(trial: optuna.Trial) -> float:
        config = RunConfig(
            dataset=args.dataset,
            model=args.model,
            max_epochs=args.max_epochs,
            seed=int(trial.user_attrs["repeat"]),
        )
        params = {
            "optimizer": trial.user_attrs["optimizer"],
            "lr": lrs[int(trial.user_attrs["lr_index"])],
            **fixed,
        }
        return run_trial(trial, params, config, metric)

    start = time.perf_counter()
    ended: list[optuna.trial.FrozenTrial] = []
    for n, job in enumerate(jobs, 1):
        if (job["optimizer"], job["lr_index"], job["repeat"]) in _claimed(study, started):
            continue  # done earlier, or being trained by another build process
        study.enqueue_trial({}, user_attrs=job)
        study.optimize(
            objective, n_trials=1, catch=(Exception,), callbacks=[lambda _, t: ended.append(t)]
        )
        last = ended[-1]
        print(
            f"[{n}/{len(jobs)}] {job['optimizer']:>9s} lr={lrs[job['lr_index']]:.3g} "
            f"rep={job['repeat']} {last.state.name} {last.user_attrs.get('stop_reason', '')} "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    while _claimed(study, started) - _claimed(study, datetime.max):
        time.sleep(5)  # another build process is still training its last point
    table = export(study, optimizers, lrs, args)
    table.meta["command"] = command
    save_table(Path(args.out), table)
    return Path(args.out)


def _claimed(study: optuna.Study, started: datetime) -> set[tuple[str, int, int] | None]:
    """Jobs finished, or running in a build process that started after this one (several
    processes, e.g. one with --reverse, can share a build; stale RUNNING trials of a killed
    build are retrained)."""
    return {
        _key(t.user_attrs)
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished()
        or (t.state == TrialState.RUNNING and t.datetime_start and t.datetime_start >= started)
    }


def _key(attrs: dict[str, Any]) -> tuple[str, int, int] | None:
    if "optimizer" not in attrs:
        return None
    return (attrs["optimizer"], int(attrs["lr_index"]), int(attrs["repeat"]))


def export(study: optuna.Study, optimizers: list[str], lrs: list[float], args: Any) -> Table:
    """The finished trials as a table; a fit that failed outright is stored as diverged."""
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    by_key = {_key(t.user_attrs): t for t in finished}
    curves: dict[str, list[list[list[dict[str, Any]]]]] = {}
    for o in optimizers:
        curves[o] = []
        for i in range(len(lrs)):
            reps = []
            for r in range(args.repeats):
                trial = by_key.get((o, i, r))
                if trial is None:
                    raise UsageError(f"the build has no trial for {o} lr#{i} repeat {r}")
                rows = trial.user_attrs.get("curve") or [{}]
                reps.append([{k: row.get(k) for k in COLUMNS} for row in rows])
            curves[o].append(reps)
    meta = {
        "num_classes": _num_classes(args.dataset),
        "dataset": args.dataset,
        "model": args.model,
        "fixed": {"batch_size": args.batch_size, "width": args.width},
        "max_epochs": args.max_epochs,
        "repeats": args.repeats,
        "threads": args.threads,
    }
    return Table(tuple(lrs), curves, meta)


def _num_classes(dataset: str) -> int:
    from hpo.train.data import create_datamodule

    dm = create_datamodule(dataset, seed=0)
    dm.setup("fit")
    return int(dm.num_classes)
