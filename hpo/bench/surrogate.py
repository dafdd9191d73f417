"""Surrogate tables: learning curves for any configuration of a space, from real fits.

    table = SurrogateTable(space, fits, {"max_epochs": 15, "model": "extra_trees"})
    save_surrogate(Path("hpo/tables/digits_5d.json.gz"), table)
    rows = load_surrogate("hpo/tables/digits_5d.json.gz").curve(params)   # one dict per epoch

The file keeps the real fits (parameters and per-epoch curves), not a fitted model: the model
(a scikit-learn multi-output regressor mapping a configuration to its whole curve, every column
at every epoch at once; a forest sees each column scaled to unit variance) is fitted when the
table is first used, in about a second, seeded, so every process answers alike. A fit that
diverged keeps its last row from the divergence on, its losses set to twice the divergence
threshold: a predicted loss above the threshold then means most of the neighbouring fits
diverged, and the replay stops the trial there as a real fit would.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from hpo.bench.replay import COLUMNS
from hpo.config.space import CategoricalParam, NumericParam, SearchSpace, parse_space
from hpo.train.divergence import LOSS_KEYS, diverged_loss, divergence_threshold

KIND = "surrogate"


def _extra_trees(seed: int) -> Any:
    """Leaves of one fit: on the 8,288 fits of the 5-D table, 5-fold CV Spearman 0.896 against
    0.891 with leaves of 2, 0.883 of 3 (300 trees instead of 100: 0.897)."""
    from sklearn.ensemble import ExtraTreesRegressor

    return _standardised(
        ExtraTreesRegressor(n_estimators=100, min_samples_leaf=1, random_state=seed)
    )


def _random_forest(seed: int) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return _standardised(
        RandomForestRegressor(n_estimators=100, min_samples_leaf=2, random_state=seed)
    )


def _standardised(forest: Any) -> Any:
    """`forest` fitted on every output column scaled to unit variance. A forest's split
    criterion sums the squared error over all outputs: unscaled, the losses (2× the divergence
    threshold after a divergence: a standard deviation of 158 on the 5-D table, against the
    accuracies' 0.31) and the seconds outweigh the accuracies, and the trees split for them
    (on the 2,144-fit 5-D table, held-out Spearman of the final val_acc 0.806 unscaled, 0.833
    scaled)."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(forest, transformer=StandardScaler(), check_inverse=False)


def _knn(seed: int) -> Any:
    from sklearn.neighbors import KNeighborsRegressor

    return KNeighborsRegressor(n_neighbors=5, weights="distance")


def _gaussian_process(seed: int) -> Any:
    return ColumnGP(seed)


class ColumnGP:
    """One Gaussian process per curve column (val_acc, val_loss, …), that column's every epoch
    as its outputs: scikit-learn's GaussianProcessRegressor, an ARD Matérn (ν = 2.5) kernel
    with white noise, outputs standardised. Its hyperparameters (`theta`: log length scales,
    amplitude, noise, one set per column) are fitted once, when the table is packed, and kept in
    the file; a process loading the table only solves the GP with them (~0.1 s, not ~30 s).

    Written here because scikit-learn's regressor shares one kernel across all outputs, and
    the columns (accuracies, losses, seconds) want length scales of their own."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.theta: list[list[float]] | None = None  # set from the table's meta, or by `fit`

    def _kernel(self, dims: int) -> Any:
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        return ConstantKernel() * Matern(length_scale=np.ones(dims), nu=2.5) + WhiteKernel(1e-2)

    def fit(self, inputs: np.ndarray, targets: np.ndarray) -> ColumnGP:
        from sklearn.gaussian_process import GaussianProcessRegressor

        width = len(COLUMNS)
        self.models = []
        for column in range(width):
            kernel = self._kernel(inputs.shape[1])
            if self.theta is not None:
                kernel = kernel.clone_with_theta(np.asarray(self.theta[column]))
            gp = GaussianProcessRegressor(
                kernel,
                normalize_y=True,
                optimizer=None if self.theta is not None else "fmin_l_bfgs_b",
                random_state=self.seed,
            )
            self.models.append(gp.fit(inputs, targets[:, column::width]))
        self.theta = [gp.kernel_.theta.tolist() for gp in self.models]
        return self

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        width = len(COLUMNS)
        parts = [gp.predict(inputs) for gp in self.models]
        out = np.empty((inputs.shape[0], parts[0].shape[1] * width))
        for column, part in enumerate(parts):
            out[:, column::width] = part
        return out


def describe_model(name: str) -> str:
    """How a table with model `name` answers, in a report's words."""
    from sklearn.compose import TransformedTargetRegressor

    standardised = isinstance(MODELS[name](0), TransformedTargetRegressor)
    scaled = ", each column scaled to unit variance" if standardised else ""
    return f"scikit-learn {name} fitted on every fit, whole curves{scaled}"


#: Candidate models (name → factory(seed)); every one predicts all outputs at once.
MODELS: dict[str, Callable[[int], Any]] = {
    "extra_trees": _extra_trees,
    "random_forest": _random_forest,
    "knn": _knn,
    "gaussian_process": _gaussian_process,
}


# ---------------------------------------------------------------- configurations and curves


def encode(space: SearchSpace, params: dict[str, Any]) -> np.ndarray:
    """A configuration as a point of the unit cube: each numeric axis at its quantile under the
    space's prior (log scale if `log`), each categorical one-hot."""
    out: list[float] = []
    for name, p in space.params.items():
        value = params[name]
        if isinstance(p, CategoricalParam):
            out += [float(value == choice) for choice in p.choices]
        else:
            assert isinstance(p, NumericParam)
            scale = math.log if p.log else float
            lo, hi = scale(p.low), scale(p.high)
            out.append((scale(float(value)) - lo) / (hi - lo))
    return np.asarray(out)


def target(curve: list[dict[str, Any]], max_epochs: int, num_classes: int) -> np.ndarray:
    """A fit's curve as one vector (epoch-major, COLUMNS per epoch), `max_epochs` long: after
    a divergence its last row repeats with both losses at twice the threshold, seconds growing
    at the fit's mean pace."""
    threshold = divergence_threshold(num_classes)
    rows: list[list[float]] = []
    for row in curve[:max_epochs]:
        broken = diverged_loss(row, threshold) is not None
        values = {k: row.get(k) for k in COLUMNS}
        if broken:
            values.update({key: 2 * threshold for key in LOSS_KEYS})
        rows.append([_or(values[k], 1.0 / num_classes) for k in COLUMNS])
        if broken:
            break
    if not rows:
        rows = [[1.0 / num_classes, 2 * threshold, 1.0 / num_classes, 2 * threshold, 0.0]]
    pace = rows[-1][COLUMNS.index("elapsed_s")] / len(rows)
    while len(rows) < max_epochs:
        last = list(rows[-1])
        last[COLUMNS.index("elapsed_s")] += pace
        rows.append(last)
    return np.asarray(rows).ravel()


def rows_of(vector: np.ndarray) -> list[dict[str, float]]:
    """A predicted vector back as one dict per epoch (the replay's rows)."""
    return [
        {k: float(v) for k, v in zip(COLUMNS, epoch, strict=True)}
        for epoch in np.asarray(vector).reshape(-1, len(COLUMNS))
    ]


def _or(value: Any, default: float) -> float:
    return float(value) if value is not None and math.isfinite(value) else default


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class SurrogateTable:
    """Real fits of a space and the model fitted on them; `curve(params)` answers any point."""

    space: SearchSpace
    fits: list[dict[str, Any]]  # {"params": …, "curve": [row, …]} as hpo.bench.fit_log writes
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def max_epochs(self) -> int:
        return int(self.meta["max_epochs"])

    @property
    def num_classes(self) -> int:
        return int(self.meta.get("num_classes", 10))

    @property
    def model_name(self) -> str:
        return str(self.meta.get("model", "extra_trees"))

    def inputs(self, fits: list[dict[str, Any]] | None = None) -> np.ndarray:
        return np.stack([encode(self.space, f["params"]) for f in self._or_all(fits)])

    def targets(self, fits: list[dict[str, Any]] | None = None) -> np.ndarray:
        return np.stack(
            [target(f["curve"], self.max_epochs, self.num_classes) for f in self._or_all(fits)]
        )

    def _or_all(self, fits: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        return self.fits if fits is None else fits

    @cached_property
    def model(self) -> Any:
        """The regressor, fitted on every fit of the table at first use."""
        model = MODELS[self.model_name](int(self.meta.get("model_seed", 0)))
        if "model_theta" in self.meta:  # hyperparameters fitted when the table was packed
            model.theta = self.meta["model_theta"]
        return model.fit(self.inputs(), self.targets())

    def with_fitted_state(self) -> SurrogateTable:
        """The table with its model's fitted hyperparameters in `meta` (for models that have
        them), so loading it refits nothing slow. A model without any (a forest) is not fitted."""
        if not hasattr(MODELS[self.model_name](0), "theta"):
            return self
        theta = getattr(self.model, "theta", None)
        return self if theta is None else replace(self, meta={**self.meta, "model_theta": theta})

    @cached_property
    def _predict_one(self) -> Callable[[np.ndarray], np.ndarray]:
        forest = getattr(self.model, "regressor_", None)
        if hasattr(forest, "estimators_"):  # a standardised forest: walk it flat, then unscale
            flat, scaler = FlatForest(forest), self.model.transformer_
            return lambda x: flat.predict_one(x) * scaler.scale_ + scaler.mean_
        return lambda x: self.model.predict(x[None, :])[0]

    def curve(self, params: dict[str, Any]) -> list[dict[str, float]]:
        """The predicted per-epoch rows (COLUMNS) of a configuration."""
        return rows_of(self._predict_one(encode(self.space, params)))


class FlatForest:
    """A fitted scikit-learn forest's trees as padded arrays, walked for every tree at once:
    the same answer as `forest.predict` for one point, without its per-tree call overhead
    (~0.1 ms per tree), which would otherwise dominate a replayed trial."""

    def __init__(self, forest: Any) -> None:
        trees = [e.tree_ for e in forest.estimators_]
        width = max(t.node_count for t in trees)
        self.left = np.full((len(trees), width), -1, dtype=np.int64)
        self.right = np.full((len(trees), width), -1, dtype=np.int64)
        self.feature = np.zeros((len(trees), width), dtype=np.int64)
        self.threshold = np.zeros((len(trees), width))
        for i, t in enumerate(trees):
            n = t.node_count
            self.left[i, :n], self.right[i, :n] = t.children_left, t.children_right
            self.feature[i, :n], self.threshold[i, :n] = t.feature, t.threshold
        self.values = [t.value[:, :, 0] for t in trees]
        self.rows = np.arange(len(trees))

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        node = np.zeros(len(self.rows), dtype=np.int64)
        while True:
            left = self.left[self.rows, node]
            inner = left >= 0
            if not inner.any():
                break
            go_left = x[self.feature[self.rows, node]] <= self.threshold[self.rows, node]
            node = np.where(inner, np.where(go_left, left, self.right[self.rows, node]), node)
        return np.mean([v[n] for v, n in zip(self.values, node, strict=True)], axis=0)


def save_surrogate(path: Path, table: SurrogateTable) -> None:
    """Fits as parameter dicts and columns-per-row curves, gzipped JSON."""
    fits = [
        {
            "index": int(f.get("index", i)),
            "params": f["params"],
            "curve": [[_round(r.get(k), k) for k in COLUMNS] for r in f["curve"]],
        }
        for i, f in enumerate(table.fits)
    ]
    data = {
        "kind": KIND,
        "meta": table.meta,
        "space": table.space.to_dict(),
        "columns": COLUMNS,
        "fits": fits,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"))


def surrogate_from_data(data: dict[str, Any], source: str) -> SurrogateTable:
    """The table in a parsed file (the model is fitted at first use)."""
    columns = data["columns"]
    fits = [
        {
            "index": int(f.get("index", i)),  # its design index (older tables: its position)
            "params": f["params"],
            "curve": [dict(zip(columns, r, strict=True)) for r in f["curve"]],
        }
        for i, f in enumerate(data["fits"])
    ]
    return SurrogateTable(parse_space(data["space"], source=source), fits, data["meta"])


@lru_cache(maxsize=4)
def load_surrogate(path: str) -> SurrogateTable:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return surrogate_from_data(json.load(fh), path)


def _round(value: Any, key: str) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 3 if key == "elapsed_s" else 5)
