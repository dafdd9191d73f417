"""The resolved configuration of a run: plain data with readable defaults.

Fields above the line define the study (a rerun must match them); fields below only steer this
run. The identity is stored on the study, so a resumed run needs none of the original flags.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from hpo.config.amounts import parse_amount
from hpo.config.names import check_name
from hpo.config.space import SearchSpace, load_space
from hpo.errors import UsageError, unknown_choice

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STORAGE = "sqlite:///studies/hpo.db"
DEFAULT_SPACE = "conf/spaces/default.yaml"


@dataclass
class RunConfig:
    # --- what the study is (must match when it is resumed) ---
    dataset: str = "digits"
    model: str = "mnist_cnn"
    space: str = DEFAULT_SPACE
    sampler: str = "tpe"
    pruner: str = "median"
    pruner_startup: int = 5
    pruner_warmup: int = 2
    max_epochs: int = 15
    metric: str = "val_acc"
    cap: str | None = None  # time_to_* metrics: "120" seconds or "15ep" epochs
    seed: int = 0
    limit_batches: float | None = None  # batches (int) or fraction per epoch; smoke tests only
    # --- how this run goes ---
    n_trials: int = 30
    timeout: float | None = None
    storage: str = DEFAULT_STORAGE
    study_name: str | None = None
    data_dir: str = "data"
    quiet: bool = False
    verbose: bool = False
    workers: int | str = "auto"  # processes training trials at once; auto: see worker_count
    checkpoint_dir: str | None = None  # default: beside the SQLite/journal file
    keep_checkpoints: str = "best"  # of finished trials: best, all, none
    checkpoint_every: str = "60s"  # a running trial's checkpoint: seconds or "5ep"; 0 = on signal
    heartbeat_interval: int = 15
    grace_period: int = 60
    max_retry: int = 3
    threads: int = 1  # torch intra-op threads per trial; parallelise across trials (workers)
    artifacts: bool = True  # curve PNGs, best checkpoint, confusion matrix (persist.artifacts)
    loggers: str = ""  # "csv", "tensorboard" or both, comma-separated: per-trial logs in studies/
    test: bool = False  # evaluate each completed trial on the test split (trial attr test_acc)
    warm_start_from: str | None = None  # a study whose best configurations run first (once)
    warm_start_top: int = 5  # how many of them
    warm_start_storage: str | None = None  # its storage (default: this run's)

    @property
    def name(self) -> str:
        """The study name: given, or derived from dataset, model and sampler."""
        return self.study_name or f"{self.dataset}-{self.model}-{self.sampler}"

    def space_path(self) -> Path:
        """The space file, looked up in the working directory, then in the project."""
        path = Path(self.space)
        if not path.is_absolute() and not path.exists() and (PROJECT_ROOT / path).exists():
            return PROJECT_ROOT / path
        return path

    def load_space(self) -> SearchSpace:
        return load_space(self.space_path())

    def identity(self, space: SearchSpace) -> dict[str, Any]:
        """What makes two runs the same study: every field above the line, the space's content
        rather than its path."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name in IDENTITY}
        values["space"] = space.to_dict()
        return values

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_config(values: Mapping[str, Any], **changes: Any) -> RunConfig:
    """A RunConfig from any mapping (e.g. parsed flags or a stored `config` attr); keys that are
    not run settings are ignored."""
    known = {f.name for f in fields(RunConfig)}
    return RunConfig(**{k: v for k, v in {**values, **changes}.items() if k in known})


KEEP_CHECKPOINTS = ("best", "all", "none")

IDENTITY = (
    "dataset model space sampler pruner pruner_startup pruner_warmup max_epochs metric cap seed"
    " limit_batches"
).split()


def check_run_values(config: RunConfig) -> None:
    """Budget and epoch values: positive numbers, named in the error; a study name that can be
    a folder."""
    check_name("--study-name", config.study_name)
    if config.n_trials < 1:
        raise UsageError(f"--n-trials must be at least 1, got {config.n_trials}")
    if config.max_epochs < 1:
        raise UsageError(f"--max-epochs must be at least 1, got {config.max_epochs}")
    if config.timeout is not None and not config.timeout > 0:  # (NaN too)
        raise UsageError(f"--timeout must be a positive number of seconds, got {config.timeout}")
    if config.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {config.threads}")
    if config.pruner_startup < 0 or config.pruner_warmup < 0:
        raise UsageError("--pruner-startup and --pruner-warmup must be 0 or more")
    parse_workers(config.workers)
    if config.keep_checkpoints not in KEEP_CHECKPOINTS:
        raise unknown_choice("--keep-checkpoints value", config.keep_checkpoints, KEEP_CHECKPOINTS)
    if config.limit_batches is not None and not 0 < config.limit_batches < math.inf:
        raise UsageError(f"--limit-batches must be a positive number, got {config.limit_batches}")
    if not 0 <= config.seed <= MAX_SEED:  # numpy's and scikit-learn's limit
        raise UsageError(f"--seed must be between 0 and {MAX_SEED}, got {config.seed}")
    logger_kinds(config.loggers)
    parse_amount(config.checkpoint_every, "--checkpoint-every", allow_zero=True)
    if config.warm_start_top < 1:
        raise UsageError(f"--warm-start-top must be at least 1, got {config.warm_start_top}")
    if (
        config.warm_start_from is not None
        and config.warm_start_from == config.name
        and (config.warm_start_storage in (None, config.storage))
    ):
        raise UsageError("--warm-start-from names this study itself; name another study")
    check_liveness(config.heartbeat_interval, config.grace_period, config.max_retry)


def parse_workers(value: int | str) -> int | None:
    """--workers: a positive number, or 'auto' (None: decided by `worker_count`)."""
    if str(value).strip().lower() == "auto":
        return None
    try:
        count = int(str(value))
    except ValueError:
        count = 0
    if count < 1:
        raise UsageError(f"--workers must be a positive number or auto, got {value!r}")
    return count


def worker_count(value: int | str, trials_left: int, cores: int | None = None) -> int:
    """How many trials run at once: --workers N, or for auto one per core, but at least
    `TRIALS_PER_WORKER` trials each (starting a worker costs seconds: a short study on one
    process is faster) and never more than the trials left."""
    given = parse_workers(value)
    if given is not None:
        return given
    return max(1, min(cores or available_cores(), trials_left // TRIALS_PER_WORKER))


def available_cores() -> int:
    """The cores this process may run on (a SLURM or taskset limit included)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def share_cores(threads: int) -> None:
    """Cap this process's BLAS thread pools (numpy's and scipy's OpenBLAS) at `threads`, for a
    process that shares the cores with others (workers, a coordinator beside them).

    An OpenBLAS pool takes every core and its threads spin while they wait: two compare workers
    on 2 cores ran a 100-trial GPSampler study in 61–113 s each instead of 22 s (torch's threads
    were capped already; benchmarks/README.md). threadpoolctl caps the pools loaded so far; the
    variable caps those loaded later here (scipy's) and in the processes this one starts. A
    user's own OPENBLAS_NUM_THREADS is left as it is."""
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return
    from threadpoolctl import threadpool_limits

    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    threadpool_limits(threads, user_api="blas")


TRIALS_PER_WORKER = 4


def check_liveness(heartbeat_interval: int, grace_period: int, max_retry: int) -> None:
    """Dead-worker settings that can work: too short a grace period fails live trials."""
    if heartbeat_interval < 1 or grace_period <= heartbeat_interval:
        raise UsageError(
            f"--grace-period ({grace_period} s) must exceed --heartbeat-interval "
            f"({heartbeat_interval} s), which must be at least 1 s"
        )
    if max_retry < 0:
        raise UsageError(f"--max-retry must be 0 or more, got {max_retry}")


MAX_SEED = 2**32 - 1

LOGGER_KINDS = ("csv", "tensorboard")


def logger_kinds(spec: str) -> list[str]:
    """'csv,tensorboard' → ['csv', 'tensorboard'], with a clear error for anything else."""
    kinds = [k.strip() for k in spec.split(",") if k.strip()]
    for kind in kinds:
        if kind not in LOGGER_KINDS:
            raise unknown_choice("logger (--loggers)", kind, LOGGER_KINDS)
    return kinds


def identity_differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable 'key: stored → current' lines, nested keys joined with dots."""
    out: list[str] = []
    for key in sorted(set(stored) | set(current)):
        old, new = stored.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            out += [f"{key}.{line}" for line in identity_differences(old, new)]
        elif old != new:
            out.append(f"{key}: {old!r} → {new!r}")
    return out
