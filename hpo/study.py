"""Run or resume an Optuna study of Lightning-trained CNNs.

    python -m hpo.study --sampler tpe                  # the default study on digits
    python -m hpo.study --sampler grid --n-trials 50   # same space, exhaustive grid
    python -m hpo.study --list                         # models, datasets, samplers, pruners
    python -m hpo.study --preset seed004_ethanet       # a seed experiment (--list-presets)

    python -m hpo.study --workers 2 --storage postgresql://user@host/db   # 2 processes
    python -m hpo.study status --storage sqlite:///studies/hpo.db         # counts, stale trials

Running the same command again continues the study to its --n-trials total; a killed or
interrupted trial is re-run from its last epoch checkpoint.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import shlex
import sys
import warnings
from collections.abc import Sequence

from hpo import __version__
from hpo.cli import EXIT_ABORTED, ArgumentParser, cli_main
from hpo.config import RunConfig, check_run_values, identity_differences
from hpo.errors import UsageError
from hpo.storage import check_storage_url, file_path, redact, scheme_of

#: `python -m hpo.study NAME …` hands the rest of the line to NAME's module `main(argv)`.
SUBCOMMANDS: dict[str, str] = {"status": "hpo.status"}
SUBCOMMANDS["export"] = "hpo.export"  # trials table as CSV/Parquet
SUBCOMMANDS["best"] = "hpo.best"  # best parameters as YAML
SUBCOMMANDS["retrain"] = "hpo.retrain_params"  # train a YAML configuration, report test accuracy
SUBCOMMANDS["lr_find"] = "hpo.lr_find"


# fmt: off
def build_parser() -> argparse.ArgumentParser:
    d = RunConfig
    p = ArgumentParser(prog="python -m hpo.study", description=__doc__.splitlines()[0])
    add = p.add_argument
    add("--sampler", default=d.sampler, metavar="NAME", help="tpe, random, grid, cmaes, qmc, gp")
    add("--pruner", default=d.pruner, metavar="NAME",
        help="median, percentile, hyperband, asha, none")
    add("--pruner-startup", type=int, default=d.pruner_startup, metavar="N",
        help="trials that run in full before pruning starts (default %(default)s)")
    add("--pruner-warmup", type=int, default=d.pruner_warmup, metavar="EPOCHS",
        help="epochs of each trial that are never pruned (default %(default)s)")
    add("--n-trials", type=int, default=d.n_trials, metavar="N",
        help="the study's total trials; a rerun continues to it (default %(default)s)")
    add("--timeout", type=float, default=None, metavar="SECONDS",
        help="stop starting new trials after this many seconds")
    add("--max-epochs", type=int, default=d.max_epochs, metavar="N",
        help="epochs per trial (default %(default)s)")
    add("--dataset", default=d.dataset, metavar="NAME", help="default %(default)s; see --list")
    add("--model", default=d.model, metavar="NAME", help="default %(default)s; see --list")
    add("--space", default=d.space, metavar="YAML",
        help="search space file (default %(default)s)")
    add("--metric", default=d.metric, metavar="NAME",
        help="val_acc (maximise, default), val_loss (minimise) or time_to_acc:0.97 (needs --cap)")
    add("--cap", default=None, metavar="LIMIT",
        help="time_to_* metrics: seconds (120) or epochs (15ep); unreached trials score it")
    add("--storage", default=d.storage, metavar="URL", help="default %(default)s")
    add("--study-name", metavar="NAME", help="default: <dataset>-<model>-<sampler>")
    add("--seed", type=int, default=d.seed, metavar="N",
        help="seeds the sampler, the data split and the weights (default %(default)s)")
    add("--data-dir", default=d.data_dir, metavar="DIR",
        help="where datasets are read or downloaded (default %(default)s)")
    add("--workers", type=int, default=d.workers, metavar="N",
        help="worker processes on this machine sharing the study (default %(default)s); "
        "the same command on other machines joins the same study")
    add("--checkpoint-dir", metavar="DIR",
        help="per-trial checkpoints go to DIR/<study>/trial_<n>/ "
        "(default: beside the SQLite/journal file, else ./studies)")
    add("--keep-checkpoints", default=d.keep_checkpoints, metavar="WHICH",
        help="checkpoints kept of finished trials: best, all, none (default %(default)s)")
    add("--heartbeat-interval", type=int, default=d.heartbeat_interval, metavar="SECONDS",
        help="seconds between a running trial's heartbeats (default %(default)s)")
    add("--grace-period", type=int, default=d.grace_period, metavar="SECONDS",
        help="a trial silent this long is dead: failed and re-run (default %(default)s)")
    add("--max-retry", type=int, default=d.max_retry, metavar="N",
        help="times a dead or interrupted trial is re-run (default %(default)s)")
    add("--pool-worker", action="store_true", help=argparse.SUPPRESS)
    add("--quiet", action="store_true", help="print only the final summary")
    add("--verbose", action="store_true",
        help="show Lightning's progress bars and summaries and Optuna's log")
    add("--no-artifacts", dest="artifacts", action="store_false",
        help="skip the dashboard artifacts (curve PNGs, best checkpoint, confusion matrix)")
    add("--threads", type=int, default=d.threads, metavar="N",
        help="torch threads per trial (default %(default)s: run workers to use more cores)")
    add("--limit-batches", type=float, default=None, metavar="N",
        help="batches (≥1) or fraction (<1) of each epoch to train and validate: smoke tests")
    add("--loggers", default=d.loggers, metavar="KINDS",
        help="per-trial logs under studies/<study>/: csv, tensorboard or csv,tensorboard")
    add("--test", action="store_true",
        help="evaluate each completed trial on the test split (trial attrs test_acc, test_loss)")
    add("--preset", default=None, metavar="NAME",
        help="a seed experiment from conf/presets/ (or a preset YAML): its settings become the "
        "defaults, flags still override")
    add("--list-presets", action="store_true", help="list the presets, one line each, and exit")
    add("--list", action="store_true", help="list models, datasets, samplers, pruners, metrics")
    add("--version", action="version", version=f"hpo {__version__}")
    return p
# fmt: on


def config_from_args(args: argparse.Namespace) -> RunConfig:
    values = {k: v for k, v in vars(args).items() if k in RunConfig.__dataclass_fields__}
    return RunConfig(**values)


def quiet_libraries(verbose: bool) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:
        warnings.filterwarnings("ignore", module="lightning")
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")


def validate(config: RunConfig):  # -> SearchSpace (imported lazily: torch is slow to import)
    """Everything that can be checked before any storage is opened."""
    from hpo.data import DATASETS
    from hpo.metrics import create_metric
    from hpo.models import MODELS
    from hpo.pruners import PRUNERS
    from hpo.routing import check_names
    from hpo.samplers import SAMPLERS

    check_run_values(config)
    SAMPLERS.get(config.sampler)
    PRUNERS.get(config.pruner)
    MODELS.get(config.model)
    DATASETS.get(config.dataset)
    create_metric(config.metric, config.cap)
    check_storage_url(config.storage)
    space = config.load_space()
    check_names(space.names(), config.model, config.dataset)
    from hpo.preflight import check_inputs_exist

    check_inputs_exist(config, space.fixed)
    return space


def open_study(
    config: RunConfig,
    space,
    command: str,
    sampler_seed: int | None = None,
    claim_seed: bool = True,
):
    """Create the study, or load it after checking it was created with this configuration.

    `sampler_seed` (default: the run's seed) lets a comparison give each sampler its own seed;
    `claim_seed=False` for a process that runs no trial (the --workers parent)."""
    import optuna

    from hpo.metrics import create_metric
    from hpo.pruners import PrunerSettings, create_pruner
    from hpo.samplers import create_sampler, resumed_seed
    from hpo.storage import Liveness, open_storage

    liveness = Liveness(config.heartbeat_interval, config.grace_period, config.max_retry)
    storage = open_storage(config.storage, liveness)
    identity = config.identity(space)
    existing = config.name in optuna.get_all_study_names(storage)
    if existing:
        stored = optuna.load_study(study_name=config.name, storage=storage)
        differences = identity_differences(stored.user_attrs.get("identity", {}), identity)
        if differences:
            raise UsageError(
                f"study {config.name!r} already exists with another configuration "
                f"({'; '.join(differences)}); rerun with its settings or pass a new --study-name"
            )
    study = optuna.create_study(
        storage=storage,
        study_name=config.name,
        pruner=create_pruner(
            config.pruner,
            PrunerSettings(config.pruner_startup, config.pruner_warmup, config.max_epochs),
        ),
        direction=create_metric(config.metric, config.cap).direction,
        load_if_exists=True,
    )
    if not existing:
        study.set_user_attr("identity", identity)
        study.set_user_attr("config", {**config.to_dict(), "storage": redact(config.storage)})
        study.set_user_attr("command", command)
        study.set_user_attr("hpo_version", __version__)
    # Every process joining the study gets its own sampler seed (the first one the study's):
    # workers started together must not propose the same points. The grid shares one seed.
    seed = config.seed if sampler_seed is None else sampler_seed
    index = 0 if config.sampler == "grid" or not claim_seed else claim_worker_index(study)
    study.sampler = create_sampler(config.sampler, space, resumed_seed(seed, index))
    return study


def claim_worker_index(study) -> int:
    """0 for the first process ever to run `study`, 1 for the next, ... (race-free)."""
    from hpo.locks import base_storage, study_lock

    storage, lock = base_storage(study), study_lock(study)
    lock.acquire()
    try:
        index = int(storage.get_study_system_attrs(study._study_id).get("hpo:joins", 0))
        storage.set_study_system_attr(study._study_id, "hpo:joins", index + 1)
    finally:
        lock.release()
    return index


def dashboard_command(storage_url: str) -> str:
    if scheme_of(storage_url) == "journal":
        return f"optuna-dashboard {file_path(storage_url)}"
    return f"optuna-dashboard {shlex.quote(redact(storage_url))}"


def run(
    config: RunConfig, command: str, argv: Sequence[str] = (), pool_worker: bool = False
) -> int:
    from hpo.interrupt import Interrupted, graceful_stop

    with graceful_stop():
        try:
            return _run(config, command, argv, pool_worker)
        except Interrupted as stop:
            print(interrupted_message(stop, command), file=sys.stderr)
            return stop.exit_code


def _run(config: RunConfig, command: str, argv: Sequence[str], pool_worker: bool) -> int:
    from hpo.budget import Budget, TooManyFailures, counted_trials, run_to_budget
    from hpo.checkpoints import CheckpointJanitor
    from hpo.objective import Objective, checkpoint_root
    from hpo.progress import ConsoleProgress, summary
    from hpo.study_notes import describe_study

    space = validate(config)
    quiet_libraries(config.verbose)
    study = open_study(config, space, command, claim_seed=config.workers == 1)
    if not pool_worker:
        describe_study(study, config, space, command)
    done = counted_trials(study)
    say = (lambda *_: None) if config.quiet or pool_worker else print
    say(
        f"Study {config.name!r} in {redact(config.storage)}: {config.sampler} sampler, "
        f"{config.pruner} pruner, {config.dataset}/{config.model}, ≤{config.max_epochs} epochs "
        f"per trial; searching {', '.join(space.params)}"
    )
    if done >= config.n_trials and not pool_worker:
        print(
            f"Study {config.name!r} is already done: {done} of {config.n_trials} trials finished."
        )
    elif done:
        say(f"Resuming: {done} of {config.n_trials} trials already finished.")
    if config.workers > 1:
        from hpo.workers import run_pool

        code = run_pool(argv, config.workers, config.threads, quiet=config.quiet)
        if code == 0:
            print(summary(study, config.metric))
            print(f"Inspect it:  {dashboard_command(config.storage)}")
        return code
    progress = ConsoleProgress(config.n_trials, done, config.metric, config.quiet)
    try:
        outcome = run_to_budget(
            study,
            Objective(config, space),
            Budget(config.n_trials),
            config.timeout,
            [progress],
            on_wait=None if config.quiet else lambda n: say_waiting(n, config.grace_period),
        )
    except TooManyFailures as exc:
        progress.close()
        print(f"hpo.study: stopped: {exc}", file=sys.stderr)
        return EXIT_ABORTED
    finally:
        progress.close()
    CheckpointJanitor(checkpoint_root(config), config.keep_checkpoints)(study)
    if pool_worker:
        return 0
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
        storage = shlex.quote(redact(config.storage))
        print(f"  with its artifacts:  python -m hpo.dashboard --storage {storage}")
    return 0


def say_waiting(n_running: int, grace_period: int) -> None:
    print(
        f"Waiting for {n_running} running trial(s) of other workers to finish the budget "
        f"(a dead worker's trial is re-run after {grace_period} s without heartbeat)."
    )


def interrupted_message(stop, command: str) -> str:
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


def list_components() -> str:
    from hpo.data import DATASETS
    from hpo.metrics import METRICS
    from hpo.models import MODELS
    from hpo.pruners import PRUNERS
    from hpo.samplers import SAMPLERS

    out = []
    for title, registry in [
        ("models", MODELS),
        ("datasets", DATASETS),
        ("samplers", SAMPLERS),
        ("pruners", PRUNERS),
        ("metrics", METRICS),
    ]:
        out.append(f"{title}:")
        out += [f"  {name:<12s} {doc}" for name, doc in registry.describe().items()]
    return "\n".join(out)


@cli_main("hpo.study")
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
    parser = build_parser()
    preset = preset_from_argv(argv)
    if preset is not None:
        parser.set_defaults(**preset.run)
    args = parser.parse_args(argv)
    if args.list:
        print(list_components())
        return 0
    if args.list_presets:
        from hpo.presets import describe_presets

        print(describe_presets())
        return 0
    shown = [redact_arg(a) for a in without_pool_flags(argv)]  # stored on the study, printed
    command = shlex.join(["python", "-m", "hpo.study", *shown])
    config = config_from_args(args)
    if preset is not None:
        from hpo.presets import with_fallback

        config, note = with_fallback(config, preset)
        if note:
            print(f"hpo.study: note: {note}", file=sys.stderr)
    return run(config, command, argv, args.pool_worker)


def preset_from_argv(argv: list[str]):  # -> Preset | None (hpo.presets imported lazily)
    """The preset named by --preset, read before the full parse so it can supply defaults."""
    pre = ArgumentParser(prog="python -m hpo.study", add_help=False)
    pre.add_argument("--preset", default=None)
    known, _ = pre.parse_known_args(argv)
    if known.preset is None:
        return None
    from hpo.presets import load_preset

    return load_preset(known.preset)


def redact_arg(arg: str) -> str:
    """A command-line word with any URL password replaced by ***."""
    if arg.startswith("--") and "=" in arg:
        flag, value = arg.split("=", 1)
        return f"{flag}={redact(value)}"
    return redact(arg) if "://" in arg else arg


def without_pool_flags(argv: Sequence[str]) -> list[str]:
    """The user's command line, without what hpo.workers adds for its worker processes."""
    return [a for a in argv if a != "--pool-worker"]


if __name__ == "__main__":
    sys.exit(main())
