"""Search methods of `hpo compare`, by name: every sampler (hpo.search.registries), run as a
study of that sampler, plus methods that are not samplers alone (TPE with Hyperband pruning,
the LR range-test baseline).

Adding one: a function `(Job) -> str` (it opens, runs and describes one study of the
comparison; see hpo.bench.baselines) and its line here.
"""

from __future__ import annotations

from hpo.registry import Registry
from hpo.search.registries import SAMPLERS

METHODS = Registry(
    "method",
    {
        **{name: "hpo.bench.compare:run_sampler_study" for name in SAMPLERS.names()},
        "tpe_hyperband": "hpo.bench.bohb:run_tpe_hyperband_study",
        "lr_find": "hpo.bench.baselines:run_lr_find_study",
    },
)
