"""Tabular replay benchmark: answer trials from a table of real learning curves.

    python -m hpo.replay build --out hpo/tables/digits_mnist_cnn.json.gz   # the dense real run
    python -m hpo.compare --objective table:hpo/tables/digits_mnist_cnn.json.gz --seeds 0-9

The table holds, for every optimizer × log-spaced learning rate × repeat, the per-epoch curve
(val/train accuracy and loss, elapsed seconds) of a real Lightning fit. A replayed trial takes
the nearest learning rate on the log scale, picks a repeat with a seeded draw, and reports the
stored curve epoch by epoch through `trial.report`/`trial.should_prune`, so the pruner acts as
in a real run; it records the same attrs (`epochs`, `wall_seconds`, `curve`, `stop_reason`)
so epoch and second budgets count exactly as they would have.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from hpo.cli import ArgumentParser, cli_main
from hpo.errors import UsageError
from hpo.metrics import Metric
from hpo.search_space import CategoricalParam, NumericParam, SearchSpace

DEFAULT_TABLE = "hpo/tables/digits_mnist_cnn.json.gz"
COLUMNS = ("val_acc", "val_loss", "train_acc", "train_loss", "elapsed_s")
DEFAULT_OPTIMIZERS = "sgd,momentum,nesterov,adam,adagrad,adadelta,rmsprop"


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Table:
    """curves[optimizer][lr_index][repeat] = list of per-epoch rows (dicts; None = non-finite)."""

    lrs: tuple[float, ...]
    curves: dict[str, list[list[list[dict[str, Any]]]]]
    meta: dict[str, Any]

    @property
    def optimizers(self) -> list[str]:
        return list(self.curves)

    @property
    def repeats(self) -> int:
        return len(next(iter(self.curves.values()))[0])

    @property
    def max_epochs(self) -> int:
        return int(self.meta["max_epochs"])

    def nearest_lr_index(self, lr: float) -> int:
        """The table row whose learning rate is closest on the log scale."""
        return int(np.argmin(np.abs(np.log(self.lrs) - math.log(lr))))

    def curve(self, optimizer: str, lr: float, repeat: int) -> list[dict[str, Any]]:
        if optimizer not in self.curves:
            raise UsageError(
                f"optimizer {optimizer!r} is not in the replay table; it has: "
                f"{', '.join(self.optimizers)}"
            )
        return self.curves[optimizer][self.nearest_lr_index(lr)][repeat]


def save_table(path: Path, table: Table) -> None:
    """Columns-per-row JSON, gzipped: a few tens of KB for 336 twelve-epoch curves."""
    packed = {
        opt: [[[_pack_row(r) for r in rows] for rows in reps] for reps in per_lr]
        for opt, per_lr in table.curves.items()
    }
    data = {"meta": table.meta, "columns": COLUMNS, "lrs": table.lrs, "curves": packed}
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"))


@lru_cache(maxsize=4)
def load_table(path: str) -> Table:
    file = Path(path)
    packaged = Path(__file__).resolve().parents[1] / path
    if not file.is_file() and not file.is_absolute() and packaged.is_file():
        file = packaged  # hpo/tables/… from any working directory
    if not file.is_file():
        raise UsageError(
            f"replay table {path} not found; build one with `python -m hpo.replay build "
            f"--out {path}` or use {DEFAULT_TABLE}"
        )
    try:
        with gzip.open(file, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        columns = data["columns"]
        curves = {
            opt: [
                [[dict(zip(columns, row, strict=True)) for row in rows] for rows in reps]
                for reps in per_lr
            ]
            for opt, per_lr in data["curves"].items()
        }
        return Table(tuple(data["lrs"]), curves, data["meta"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path} is not a replay table ({type(exc).__name__}: {exc})") from None


def _pack_row(row: dict[str, Any]) -> list[float | None]:
    out: list[float | None] = []
    for key in COLUMNS:
        value = row.get(key)
        ok = value is not None and math.isfinite(value)
        out.append(round(float(value), 5 if key != "elapsed_s" else 3) if ok else None)
    return out


# ---------------------------------------------------------------- the objective


def check_space(space: SearchSpace, table: Table, max_epochs: int) -> None:
    """The table varies only `lr` and `optimizer`; the space may search nothing else."""
    extra = sorted(set(space.params) - {"lr", "optimizer"})
    if extra:
        raise UsageError(
            f"a replay table answers only lr × optimizer; the space also searches {extra} "
            "(use conf/spaces/replay.yaml or fix those values)"
        )
    lr, opt = space.params.get("lr"), space.params.get("optimizer")
    if not isinstance(lr, NumericParam) or not isinstance(opt, CategoricalParam):
        raise UsageError("a replay space needs a float `lr` and a categorical `optimizer`")
    missing = sorted(set(opt.choices) - set(table.optimizers))
    if missing:
        raise UsageError(
            f"optimizer(s) {missing} are not in the replay table; it has {table.optimizers}"
        )
    if max_epochs > table.max_epochs:
        raise UsageError(
            f"--max-epochs {max_epochs} exceeds the table's {table.max_epochs} recorded epochs"
        )


class TableObjective:
    """Optuna objective that replays a stored curve instead of training."""

    def __init__(
        self, table_path: str, space: SearchSpace, metric: Metric, max_epochs: int, seed: int
    ) -> None:
        self.table = load_table(table_path)
        check_space(space, self.table, max_epochs)
        self.space = space
        self.metric = metric
        self.max_epochs = max_epochs
        self.seed = seed

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.space.suggest(trial)
        repeat = random.Random(f"{self.seed}:{trial.number}").randrange(self.table.repeats)
        index = self.table.nearest_lr_index(params["lr"])
        trial.set_user_attr("table_lr", self.table.lrs[index])
        trial.set_user_attr("table_repeat", repeat)
        rows = self.table.curve(params["optimizer"], params["lr"], repeat)[: self.max_epochs]
        num_classes = int(self.table.meta.get("num_classes", 10))
        return replay_curve(trial, rows, self.metric, num_classes)


def replay_curve(
    trial: optuna.Trial, rows: list[dict[str, Any]], metric: Metric, num_classes: int = 10
) -> float:
    """Report each epoch as PyTorchLightningPruningCallback would; prune or diverge likewise."""
    threshold = 100.0 * math.log(max(num_classes, 2))  # = hpo.objective.divergence_threshold
    seen: list[dict[str, Any]] = []
    for epoch, stored in enumerate(rows):
        row = {"epoch": epoch, **stored}
        seen.append(row)
        diverged = _diverged(row, threshold)
        if diverged:
            _record(trial, seen, f"diverged: {diverged} at epoch {epoch + 1}")
            raise optuna.TrialPruned(f"diverged: {diverged} at epoch {epoch + 1}")
        trial.report(float(row[metric.monitor]), step=epoch)
        if trial.should_prune():
            _record(trial, seen, f"pruned at epoch {epoch + 1}")
            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1}")
        if metric.done(_finite(seen)):  # as StopAtTarget ends a real fit
            break
    _record(trial, seen, "completed")
    for key, value in metric.attrs(_finite(seen)).items():
        trial.set_user_attr(key, value)
    return metric.value(_finite(seen))


def _diverged(row: dict[str, Any], threshold: float) -> str | None:
    """As hpo.objective.divergence: a loss that is not finite (None here) or above threshold."""
    for key in ("train_loss", "val_loss"):
        value = row.get(key)
        if value is None or value > threshold:
            return f"{key}={'nan' if value is None else f'{value:.3g}'}"
    return None


def _finite(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


def _record(trial: optuna.Trial, rows: list[dict[str, Any]], reason: str) -> None:
    trial.set_user_attr("epochs", len(rows))
    trial.set_user_attr("wall_seconds", float(rows[-1].get("elapsed_s") or 0.0))
    trial.set_user_attr("stop_reason", reason)
    trial.set_user_attr("curve", rows)
    trial.set_user_attr("replayed", True)


# ---------------------------------------------------------------- building the table


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m hpo.replay build", description="Build a replay table.")
    p.add_argument("--out", default=DEFAULT_TABLE, help="table file (default %(default)s)")
    p.add_argument(
        "--storage",
        default="sqlite:///studies/replay-build.db",
        help="where the dense run keeps its trials; a rerun resumes (default %(default)s)",
    )
    p.add_argument("--optimizers", default=DEFAULT_OPTIMIZERS)
    p.add_argument("--n-lrs", type=int, default=24, help="log-spaced learning rates")
    p.add_argument("--lr-low", type=float, default=1e-5)
    p.add_argument("--lr-high", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=2, help="fits per point (seeds 0, 1, …)")
    p.add_argument("--max-epochs", type=int, default=12)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--model", default="mnist_cnn")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--reverse",
        action="store_true",
        help="walk the points backwards: run a second process with it to build twice as fast",
    )
    return p


def build(args: Any, command: str) -> Path:
    import torch

    from hpo.config import RunConfig
    from hpo.metrics import create_metric
    from hpo.objective import run_trial
    from hpo.storage import open_storage
    from hpo.study import quiet_libraries

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
    from hpo.data import create_datamodule

    dm = create_datamodule(dataset, seed=0)
    dm.setup("fit")
    return int(dm.num_classes)


@cli_main("hpo.replay")
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "build":
        raise UsageError("usage: python -m hpo.replay build [--out PATH] … (see build --help)")
    args = build_parser().parse_args(argv[1:])
    out = build(args, shlex.join(["python", "-m", "hpo.replay", *argv]))
    size = out.stat().st_size
    print(f"Replay table written: {out} ({size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
