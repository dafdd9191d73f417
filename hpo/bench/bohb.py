"""`tpe_hyperband`: TPE with Hyperband pruning, the BOHB-like method of `hpo compare`.

    hpo compare --methods random,tpe,tpe_hyperband --objective table:hpo/tables/digits_5d.json.gz

The study runs TPESampler under HyperbandPruner (1 … --max-epochs epochs, reduction factor 3)
whatever --pruner says. Optuna's TPE then models each Hyperband bracket on that bracket's trials
only, as BOHB does; unlike BOHB it does not fit its model on the largest budget with enough
observations, and brackets run interleaved rather than one after another.
"""

from __future__ import annotations

from dataclasses import replace

from hpo.bench.compare import Job, make_objective, open_job_study, run_job_study


def run_tpe_hyperband_study(job: Job) -> str:
    """Open (or resume) the job's study with TPE and Hyperband, and run it to the budget."""
    bench = replace(job.benchmark, config=replace(job.benchmark.config, pruner="hyperband"))
    job = replace(job, benchmark=bench)
    study, config, space = open_job_study(job, "tpe")
    return run_job_study(job, study, make_objective(bench, config, space), config)
