"""Tabular replay benchmark: answer trials from a table of real learning curves.

    hpo replay build --out hpo/tables/digits_mnist_cnn.json.gz   # the dense real run
    hpo compare --objective table:hpo/tables/digits_mnist_cnn.json.gz --seeds 0-9

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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from hpo.config.metrics import Metric
from hpo.config.space import CategoricalParam, NumericParam, SearchSpace
from hpo.errors import UsageError
from hpo.train.divergence import diverged_loss, divergence_threshold

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


def table_file(path: str) -> Path:
    """The table's file: the path as given, else inside the project (hpo/tables/… from any
    working directory)."""
    file = Path(path)
    packaged = Path(__file__).resolve().parents[2] / path
    if not file.is_file() and not file.is_absolute() and packaged.is_file():
        file = packaged
    if not file.is_file():
        raise UsageError(
            f"replay table {path} not found; build one with `hpo replay build "
            f"--out {path}` or use {DEFAULT_TABLE}"
        )
    return file


@lru_cache(maxsize=4)
def load_table(path: str) -> Table:
    file = table_file(path)
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
    """Report each epoch as PyTorchLightningPruningCallback would; prune or diverge likewise,
    in a real fit's order: the epoch's value is reported (the pruner may stop the trial there)
    before DivergenceStop ends the fit, so a diverged trial keeps its last value (e.g. chance
    accuracy), which samplers that learn from pruned trials read."""
    threshold = divergence_threshold(num_classes)
    seen: list[dict[str, Any]] = []
    for epoch, stored in enumerate(rows):
        row = {"epoch": epoch, **stored}
        seen.append(row)
        if row.get(metric.monitor) is not None:  # (the tables keep a non-finite value as None)
            trial.report(float(row[metric.monitor]), step=epoch)
            if trial.should_prune():
                _record(trial, seen, f"pruned at epoch {epoch + 1}")
                raise optuna.TrialPruned(f"pruned at epoch {epoch + 1}")
        diverged = diverged_loss(row, threshold)
        if diverged:
            _record(trial, seen, f"diverged: {diverged} at epoch {epoch + 1}")
            raise optuna.TrialPruned(f"diverged: {diverged} at epoch {epoch + 1}")
        if metric.done(_finite(seen)):  # as StopAtTarget ends a real fit
            break
    _record(trial, seen, "completed")
    for key, value in metric.attrs(_finite(seen)).items():
        trial.set_user_attr(key, value)
    return metric.value(_finite(seen))


def _finite(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


def _record(trial: optuna.Trial, rows: list[dict[str, Any]], reason: str) -> None:
    trial.set_user_attr("epochs", len(rows))
    trial.set_user_attr("wall_seconds", float(rows[-1].get("elapsed_s") or 0.0))
    trial.set_user_attr("stop_reason", reason)
    trial.set_user_attr("curve", rows)
    trial.set_user_attr("replayed", True)
