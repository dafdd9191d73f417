"""Space-filling designs over a search space: the configurations a table is built from.

    configs = design(load_space("conf/spaces/digits_5d.yaml"), n=4096, seed=0)

The grid corners first (every choice × both ends of every numeric axis), then a scrambled Sobol
sequence (scipy.stats.qmc): any prefix of the list covers the space evenly, so a build stopped
early is still a fair sample of it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy.stats import qmc

from hpo.config.space import CategoricalParam, NumericParam, Param, SearchSpace


def design(space: SearchSpace, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Corners, then the first `n` points of a scrambled Sobol sequence."""
    return corners(space) + sobol(space, n, seed)


def corners(space: SearchSpace) -> list[dict[str, Any]]:
    """Every combination of categorical choices and numeric range ends."""
    axes = [_ends(p) for p in space.params.values()]
    return [
        {**dict(zip(space.params, values, strict=True)), **space.fixed}
        for values in itertools.product(*axes)
    ]


def sobol(space: SearchSpace, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """The first `n` points of a scrambled Sobol sequence: balanced when `n` is a power of two,
    and any other `n` is a prefix of the next power's points (e.g. 12,288 = a net of 8,192, then
    one of 4,096), so a design grown from `n` to 2n keeps its first `n` points."""
    sampler = qmc.Sobol(d=len(space.params), scramble=True, seed=seed)
    unit = sampler.random_base2(m=max(0, math.ceil(math.log2(n))))[:n]
    names = list(space.params)
    return [
        {
            **{n: from_unit(space.params[n], u) for n, u in zip(names, row, strict=True)},
            **space.fixed,
        }
        for row in unit
    ]


def from_unit(param: Param, u: float) -> Any:
    """The value at quantile `u` ∈ [0, 1) of a parameter's prior (log-uniform if `log`)."""
    if isinstance(param, CategoricalParam):
        return param.choices[min(int(u * len(param.choices)), len(param.choices) - 1)]
    lo, hi = param.low, param.high
    if param.kind == "int":  # each integer gets an equal share (of the log scale if `log`)
        lo, hi = lo - 0.5, hi + 0.5
    if param.log:
        value = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    else:
        value = lo + u * (hi - lo)
    if param.kind == "int":
        return int(np.clip(round(value), param.low, param.high))
    return float(f"{value:.6g}")


def _ends(param: Param) -> list[Any]:
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    assert isinstance(param, NumericParam)
    cast = int if param.kind == "int" else float
    return [cast(param.low), cast(param.high)]
