"""Run (or resume) one study to its budget and say how it went: what `hpo study` does.

    code = run(config, command)      # config validated by the CLI; returns the exit code

Order matters for bad input and for speed: the space and names are checked first (no torch);
a study that is already finished is reported without loading torch; the data is checked before
the storage is created; only then does training start.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from hpo.config.run import RunConfig, identity_differences, worker_count
from hpo.config.space import SearchSpace
from hpo.errors import UsageError
from hpo.persist.quick_read import read_sqlite_study, sqlite_study_names
from hpo.persist.urls import file_path, redact, scheme_of
from hpo.search.logs import quiet_libraries
from hpo.search.summary import summary_text
from hpo.search.validate import check_objectives, preflight, validate
from hpo.train import signals

if TYPE_CHECKING:
    from hpo.search.parallel import WorkerPool

EXIT_ABORTED = 1


def run(config: RunConfig, command: str) -> int:
    with signals.graceful_stop():
        try:
            return _run(config, command)
        except signals.Interrupted as stop:
            print(interrupted_message(stop, command), file=sys.stderr)
            return stop.exit_code


def _run(config: RunConfig, command: str) -> int:
    space = validate(config)
    say = (lambda *_: None) if config.quiet else print
    objectives = check_objectives(config)
    if objectives > 1 and config.pruner != "none":
        say(
            f"Note: pruning is off: this study has {objectives} objectives ({config.metric}) "
            f"and Optuna's pruners judge one, so --pruner {config.pruner} is not used."
        )
    finished = finished_summary(config, space)
    if finished is not None:
        done, text = finished
        say(header(config, space))
        print(already_done(config, done))
        print(text)
        print(f"Inspect it:  {dashboard_command(config.storage)}")
        return 0
    if config.warm_start_from is not None:
        from hpo.search.warm_start import source_study

        source_study(config)  # a missing source is one line before torch loads
    workers = worker_count(config.workers, config.n_trials)
    config = replace(config, workers=workers)  # stored as run: the count decides the trials
    if workers == 1:
        preflight(config, space)
        quiet_libraries(config.verbose)
        return _train(config, space, command, say, None)
    from hpo.search.parallel import WorkerPool

    with WorkerPool(workers, config, space) as pool:  # (torch starts importing now)
        from hpo.persist.internals import import_storage_modules

        pool.preflight(meanwhile=import_storage_modules)
        quiet_libraries(config.verbose)
        return _train(config, space, command, say, pool)


def _train(
    config: RunConfig, space: SearchSpace, command: str, say: Callable, pool: WorkerPool | None
) -> int:
    """Open (or resume) the study and run it to its budget: in this process, or in `pool`."""
    from hpo.persist.checkpoints import CheckpointJanitor, checkpoint_root
    from hpo.persist.notes import describe_study
    from hpo.search.budget import Budget, TooManyFailures, counted_trials
    from hpo.search.progress import ConsoleProgress, summary
    from hpo.search.study import open_study

    say(header(config, space, len(pool.processes) if pool else 1))
    study = open_study(config, space, command, say=say)
    describe_study(study, config, space, command)
    done = counted_trials(study)
    if done >= config.n_trials:
        print(already_done(config, done))
    elif done:
        say(f"Resuming: {done} of {config.n_trials} trials already finished.")
    total = config.n_trials  # (a smaller grid ends first: its size is what the bar and ETA count)
    if config.sampler == "grid":
        total = min(total, space.grid_size())
    progress = ConsoleProgress(total, done, config.metric, config.quiet)
    on_wait = None if config.quiet else lambda n: say_waiting(n, config.grace_period)
    try:
        outcome = _run_trials(
            study, config, space, Budget(config.n_trials), pool, progress, on_wait
        )
    except TooManyFailures as exc:
        progress.close()
        print(f"hpo study: stopped: {exc}", file=sys.stderr)
        return EXIT_ABORTED
    finally:
        progress.close()
    CheckpointJanitor(checkpoint_root(config), config.keep_checkpoints)(study)
    if outcome.stopped_because == "grid exhausted":
        print(
            f"Grid exhausted: all {space.grid_size()} grid points ran, "
            f"{counted_trials(study)} of the {config.n_trials}-trial budget used."
        )
    elif outcome.stopped_because == "timeout":
        print(f"Timeout after {config.timeout:g} s: {counted_trials(study)} trials finished.")
    print(summary(study, config.metric))
    print(f"Inspect it:  {dashboard_command(config.storage)}")
    if config.artifacts:
        from hpo.persist.commands import hpo_dashboard_hint

        print(f"  with its artifacts:  {hpo_dashboard_hint(config.storage)}")
    return 0


def _run_trials(study, config, space, budget, pool, progress, on_wait):  # -> Outcome
    """One trial at a time in this process, or one per worker of `pool`."""
    if pool is not None:
        from hpo.search.parallel import run_in_workers

        return run_in_workers(study, config, space, budget, pool, [progress], on_wait)
    from hpo.search.budget import run_to_budget
    from hpo.search.objective import Objective

    objective = Objective(config, space)
    return run_to_budget(study, objective, budget, config.timeout, [progress], on_wait)


def already_done(config: RunConfig, done: int) -> str:
    return f"Study {config.name!r} is already done: {done} of {config.n_trials} trials finished."


def finished_summary(config: RunConfig, space: SearchSpace) -> tuple[int, str] | None:
    """(trials finished, summary) if the study exists with this configuration and has nothing
    left to run (its budget spent or its grid exhausted), read without creating or changing
    anything and, on a SQLite file, without loading Optuna; else None. A study created with
    other settings is a UsageError."""
    path = file_path(config.storage)
    if path is not None and not path.is_file():
        return None
    if scheme_of(config.storage) == "sqlite" and path is not None:
        names = sqlite_study_names(path)
        if names is not None and config.name not in names:
            return None  # a new study (opening the file through Optuna would take ~1.5 s)
        digest = read_sqlite_study(path, config.name)
        if digest is not None:
            _check_identity(config, space, digest.user_attrs.get("identity", {}))
            if digest.counted >= config.n_trials:
                text = summary_text(digest.name, digest.counts, config.metric, digest.best)
                return digest.counted, text
            if config.sampler != "grid":
                return None
    return _finished_through_optuna(config, space)


def _check_identity(config: RunConfig, space: SearchSpace, stored: dict) -> None:
    differences = identity_differences(stored, config.identity(space))
    if differences:
        raise UsageError(
            f"study {config.name!r} already exists with another configuration "
            f"({'; '.join(differences)}); rerun with its settings or pass a new --study-name"
        )


def _finished_through_optuna(config: RunConfig, space: SearchSpace) -> tuple[int, str] | None:
    import optuna

    from hpo.persist.storages import open_storage
    from hpo.search.budget import counted_trials, grid_exhausted
    from hpo.search.progress import summary
    from hpo.search.study import liveness_of

    try:
        storage = open_storage(config.storage, liveness_of(config), existing=True)
        if config.name not in optuna.get_all_study_names(storage):
            return None
        study = optuna.load_study(study_name=config.name, storage=storage)
    except Exception:  # no tables yet, an older schema, no server: the full open will say
        return None
    _check_identity(config, space, study.user_attrs.get("identity", {}))
    done = counted_trials(study)
    if done < config.n_trials:
        grid = optuna.samplers.GridSampler(space.grid(), seed=config.seed)
        if config.sampler != "grid" or not grid_exhausted(study, grid):
            return None
    return done, summary(study, config.metric)


def header(config: RunConfig, space: SearchSpace, workers: int | None = None) -> str:
    at_once = f", {workers} trials at a time" if workers and workers > 1 else ""
    several = "," in config.metric
    pruner = f"objectives {config.metric}, no pruner" if several else f"{config.pruner} pruner"
    return (
        f"Study {config.name!r} in {redact(config.storage)}: {config.sampler} sampler, "
        f"{pruner}, {config.dataset}/{config.model}, ≤{config.max_epochs} epochs "
        f"per trial{at_once}; searching {', '.join(space.params)}"
    )


def dashboard_command(storage_url: str) -> str:
    """optuna-dashboard on the storage, as pasted into this shell (hpo.persist.commands)."""
    from hpo.persist.commands import dashboard_words

    return shlex.join(dashboard_words(storage_url))


def say_waiting(n_running: int, grace_period: int) -> None:
    print(
        f"Waiting for {n_running} running trial(s) of other workers to finish the budget "
        f"(a dead worker's trial is re-run after {grace_period} s without heartbeat)."
    )


def interrupted_message(stop: signals.Interrupted, command: str) -> str:
    trial = getattr(stop, "trial_number", None)
    what = "Ctrl-C" if stop.signal_name == "SIGINT" else stop.signal_name
    where = (
        f"trial #{trial} was stopped and re-queued; it will resume from its last epoch "
        "checkpoint. "
        if trial is not None
        else ""
    )
    return (
        f"Interrupted by {what}: {where}No finished trial is lost.\n"
        f"Resume with the same command:\n  {command}"
    )
