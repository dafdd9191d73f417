"""Samplers and pruners by name, as "module:function" entries (nothing imported until used).

Adding one: a function `(space, seed) -> BaseSampler` in hpo/search/samplers.py (or
`(PrunerSettings) -> BasePruner` in pruners.py), and its line here.
"""

from __future__ import annotations

from hpo.registry import Registry

SAMPLERS = Registry(
    "sampler",
    {
        name: f"hpo.search.samplers:{name}"
        for name in ("tpe", "tpe_multivariate", "random", "grid", "cmaes", "qmc", "gp", "nsga2")
    },
)

#: The samplers that search several objectives at once (`--metric val_acc,train_seconds`).
MULTI_OBJECTIVE = ("nsga2", "tpe", "random")

PRUNERS = Registry(
    "pruner",
    {
        name: f"hpo.search.pruners:{name}"
        for name in ("median", "percentile", "hyperband", "asha", "none")
    },
)
