"""Search methods of `hpo.compare` that are not Optuna samplers, by name.

Every sampler in `hpo.samplers` is a method already; a method that is not a sampler (the LR
range-test baseline in `hpo.baselines`) registers a runner of one compare job here. (A module of
its own so that `python -m hpo.compare`, which runs as `__main__`, sees the same registry.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hpo.registry import Registry

METHODS: Registry[Callable[[Any], str]] = Registry("method")
