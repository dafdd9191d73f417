"""Run flags, declared once: `hpo study` takes them all, `hpo compare` the ones that define
the benchmark every method is compared on.

    add_flags(parser, STUDY_FLAGS)        add_flags(parser, SHARED_FLAGS)

Defaults come from hpo.config.run.RunConfig; a flag's dest is the RunConfig field it sets.
"""

from __future__ import annotations

import argparse
from typing import Any

from hpo.config.run import RunConfig
from hpo.persist.urls import STORAGE_HELP, default_storage

d = RunConfig
# fmt: off
FLAGS: dict[str, dict[str, Any]] = {
    "--sampler": dict(default=d.sampler, metavar="NAME",
                      help="tpe, random, grid, cmaes, qmc, gp, nsga2 (several metrics: nsga2, "
                      "tpe or random)"),
    "--pruner": dict(default=d.pruner, metavar="NAME",
                     help="median, percentile, hyperband, asha, none (default %(default)s)"),
    "--pruner-startup": dict(type=int, default=d.pruner_startup, metavar="N",
                             help="trials that run in full before pruning starts "
                             "(default %(default)s)"),
    "--pruner-warmup": dict(type=int, default=d.pruner_warmup, metavar="EPOCHS",
                            help="epochs of each trial that are never pruned "
                            "(default %(default)s)"),
    "--n-trials": dict(type=int, default=d.n_trials, metavar="N",
                       help="the study's total trials; a rerun continues to it "
                       "(default %(default)s)"),
    "--timeout": dict(type=float, default=None, metavar="SECONDS",
                      help="stop starting new trials after this many seconds"),
    "--max-epochs": dict(type=int, default=d.max_epochs, metavar="N",
                         help="epochs per trial (default %(default)s)"),
    "--dataset": dict(default=d.dataset, metavar="NAME", help="default %(default)s; see --list"),
    "--model": dict(default=d.model, metavar="NAME", help="default %(default)s; see --list"),
    "--space": dict(default=d.space, metavar="YAML",
                    help="search space file (default %(default)s)"),
    "--metric": dict(default=d.metric, metavar="NAME",
                     help="val_acc (maximise, default), val_loss (minimise) or time_to_acc:0.97 "
                     "(needs --cap); several, comma-separated, for a multi-objective study: "
                     "val_acc,train_seconds or val_acc,n_params (no pruning)"),
    "--cap": dict(default=None, metavar="LIMIT",
                  help="time_to_* metrics: seconds (120) or epochs (15ep); unreached trials "
                  "score it"),
    "--storage": dict(metavar="URL", help=STORAGE_HELP),  # default: $HPO_STORAGE (add_flags)
    "--study-name": dict(metavar="NAME", help="default: <dataset>-<model>-<sampler>"),
    "--seed": dict(type=int, default=d.seed, metavar="N",
                   help="seeds the sampler, the data split and the weights (default %(default)s)"),
    "--data-dir": dict(default=d.data_dir, metavar="DIR",
                       help="where datasets are read or downloaded (default %(default)s)"),
    "--workers": dict(default=d.workers, metavar="N",
                      help="trials trained at once by processes on this machine: a number or "
                      "auto (one per core, at least 4 trials each; default); same seed, same "
                      "trials. The same command on other machines joins the study"),
    "--checkpoint-dir": dict(metavar="DIR",
                             help="per-trial checkpoints go to DIR/<study>/trial_<n>/ "
                             "(default: beside the SQLite/journal file, else ./studies)"),
    "--keep-checkpoints": dict(default=d.keep_checkpoints, metavar="WHICH",
                               help="checkpoints kept of finished trials: best, all, none "
                               "(default %(default)s)"),
    "--checkpoint-every": dict(default=d.checkpoint_every, metavar="WHEN",
                               help="checkpoint a running trial every N seconds (60s) or epochs "
                               "(2ep) and on SIGTERM/Ctrl-C; 0: only then (default "
                               "%(default)s)"),
    "--heartbeat-interval": dict(type=int, default=d.heartbeat_interval, metavar="SECONDS",
                                 help="seconds between a running trial's heartbeats "
                                 "(default %(default)s)"),
    "--grace-period": dict(type=int, default=d.grace_period, metavar="SECONDS",
                           help="a trial silent this long is dead: failed and re-run "
                           "(default %(default)s)"),
    "--max-retry": dict(type=int, default=d.max_retry, metavar="N",
                        help="times a dead or interrupted trial is re-run (default %(default)s)"),
    "--quiet": dict(action="store_true", help="print only the final summary"),
    "--verbose": dict(action="store_true",
                      help="show Lightning's progress bars and summaries and Optuna's log"),
    "--no-artifacts": dict(dest="artifacts", action="store_false",
                           help="skip the dashboard artifacts (curve PNGs, best checkpoint, "
                           "confusion matrix)"),
    "--threads": dict(type=int, default=d.threads, metavar="N",
                      help="torch threads per trial (default %(default)s: run workers to use "
                      "more cores)"),
    "--limit-batches": dict(type=float, default=None, metavar="N",
                            help="batches (≥1) or fraction (<1) of each epoch to train and "
                            "validate: smoke tests"),
    "--loggers": dict(default=d.loggers, metavar="KINDS",
                      help="per-trial logs under studies/<study>/: csv, tensorboard or "
                      "csv,tensorboard"),
    "--test": dict(action="store_true",
                   help="evaluate each completed trial on the test split (trial attrs "
                   "test_acc, test_loss)"),
    "--warm-start-from": dict(metavar="STUDY",
                              help="run the best configurations of STUDY (e.g. a smaller model's) "
                              "first, once; only parameters of this space, clipped to it"),
    "--warm-start-top": dict(type=int, default=d.warm_start_top, metavar="K",
                             help="how many of STUDY's best COMPLETE trials (default "
                             "%(default)s; a multi-objective STUDY: its Pareto set first)"),
    "--warm-start-storage": dict(metavar="URL",
                                 help="the storage holding STUDY (default: --storage)"),
}
# fmt: on

#: What defines the benchmark of a comparison, shared by `hpo study` and `hpo compare`.
SHARED_FLAGS = (
    "--n-trials", "--timeout", "--max-epochs", "--dataset", "--model", "--space", "--metric",
    "--cap", "--pruner", "--pruner-startup", "--pruner-warmup", "--storage", "--data-dir",
    "--verbose",
)  # fmt: skip
STUDY_FLAGS = tuple(FLAGS)


def add_flags(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    for name in names:
        options = FLAGS[name]
        if name == "--storage":  # read when the parser is built, not when this module loads
            options = {**options, "default": default_storage()}
        parser.add_argument(name, **options)
