"""The stored "Reproduce" command (user attr `reproduce`, and the study's note) runs as pasted
and, into a fresh storage, proposes the same trials: every metric kind, with and without --cap
and --limit-batches, from a preset, with --workers, on SQLite and on PostgreSQL (whose password
it never holds). Real studies; each command is pasted into a real shell-less subprocess, from
another directory, with no venv on the PATH it needs."""

from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from optuna_dashboard import get_note

from hpo.cli import main
from hpo.persist.storages import open_storage
from hpo.testing.helpers import cli_env, downloads_fail, write_space
from hpo.testing.services import fresh_postgres_database

ONE = ["--max-epochs", "1", "--pruner", "none"]
PASSWORD = "s3cret"
#: case → (storage kind, flags of the original run besides --space and --storage). Three runs
#: cover every point: val_acc, val_loss and time_to_* (with its --cap), with and without
#: --limit-batches, a preset, --workers, SQLite and PostgreSQL. (The pasted commands are the
#: slow part: a Python that imports torch each.)
CASES = {
    "val_acc, tpe, PostgreSQL with a password": ("postgres", ["--n-trials", "2", *ONE]),
    "val_loss, grid, --workers 2, --limit-batches": (
        "sqlite",
        [*("--n-trials", "4", "--metric", "val_loss", "--sampler", "grid", "--workers", "2"),
         "--no-artifacts"],
    ),
    "preset seed003 (time_to_acc, --cap 120 s, grid; offline: digits)": (
        "sqlite",
        [*("--preset", "seed003_optimizer_lr", "--n-trials", "2", "--max-epochs", "1"),
         *("--limit-batches", "2", "--data-dir", "{tmp}/empty", "--no-artifacts")],
    ),
}  # fmt: skip


@dataclass
class Outcome:
    original: optuna.Study
    reproduced: optuna.Study
    command: str
    run: subprocess.CompletedProcess[str]


def urls(kind: str, tmp: Path, stack: contextlib.ExitStack) -> tuple[str, str]:
    """Two storages: the original one and the fresh one the command is pasted into."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'original.db'}", f"sqlite:///{tmp / 'fresh.db'}"
    pair = []
    for _ in range(2):
        url = stack.enter_context(fresh_postgres_database())
        open_storage(url)  # Optuna's tables (see tests/cli/test_which_study.py)
        pair.append(url.replace("root@", f"root:{PASSWORD}@"))  # trust auth ignores it
    return pair[0], pair[1]


def run_original(case: str, tmp: Path, original_url: str) -> optuna.Study:
    """The original study, run in this process (as `hpo study …` from `tmp`)."""
    (tmp / "empty").mkdir(parents=True, exist_ok=True)
    space = write_space(tmp)
    flags = [a.replace("{tmp}", str(tmp)) for a in CASES[case][1]]
    if "--preset" not in flags:
        flags += ["--space", str(space)]
    if "--limit-batches" not in flags and "--workers" in flags:
        flags += ["--limit-batches", "3", *ONE]
    with contextlib.chdir(tmp):
        assert main(["study", *flags, "--storage", original_url, "--quiet"]) == 0
    (name,) = optuna.get_all_study_names(open_storage(original_url))
    return optuna.load_study(study_name=name, storage=open_storage(original_url))


def paste(original: optuna.Study, tmp: Path, fresh_url: str) -> Outcome:
    """The stored command, its --storage replaced, run as a user pastes it, from elsewhere."""
    command = original.user_attrs["reproduce"]
    words = shlex.split(command)
    words[words.index("--storage") + 1] = fresh_url
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run(
        words, cwd=elsewhere, env=cli_env(), capture_output=True, text=True, timeout=600
    )
    storage = open_storage(fresh_url)
    reproduced = optuna.load_study(study_name=original.study_name, storage=storage)
    return Outcome(original, reproduced, command, run)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    """The originals one after the other in this process (signal handlers need the main
    thread), then the pasted commands as subprocesses, two at a time."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(downloads_fail())  # seed003 on digits: MNIST is not fetched
        runs = []
        for case in CASES:
            tmp = tmp_path_factory.mktemp("reproduce")
            original_url, fresh_url = urls(CASES[case][0], tmp, stack)
            runs.append((run_original(case, tmp, original_url), tmp, fresh_url))
        with ThreadPoolExecutor(max_workers=2) as pool:
            yield dict(zip(CASES, pool.map(lambda run: paste(*run), runs), strict=True))


def params_by_number(study: optuna.Study) -> list[tuple[int, dict]]:
    return sorted((t.number, t.params) for t in study.trials)


@pytest.mark.parametrize("case", CASES)
def test_the_stored_command_runs_as_pasted_and_proposes_the_same_trials(case, outcomes):
    outcome = outcomes[case]
    assert outcome.run.returncode == 0, outcome.run.stdout + outcome.run.stderr
    assert "Traceback" not in outcome.run.stderr
    assert params_by_number(outcome.reproduced) == params_by_number(outcome.original)
    assert len(outcome.reproduced.trials) == len(outcome.original.trials) > 1
    assert " None" not in outcome.command and "'None'" not in outcome.command
    assert re.search(r"(^|/)hpo study ", outcome.command)
    assert re.search(r" --workers \d+ ", outcome.command)  # auto is spelled as its count
    assert outcome.command in get_note(outcome.original)  # the note shows the same command
    assert outcome.reproduced.user_attrs["identity"] == outcome.original.user_attrs["identity"]


def test_the_command_never_holds_the_password(outcomes):
    outcome = outcomes["val_acc, tpe, PostgreSQL with a password"]
    assert PASSWORD not in outcome.command and PASSWORD not in get_note(outcome.original)
    assert "--storage postgresql://root@127.0.0.1" in outcome.command  # ~/.pgpass supplies it
