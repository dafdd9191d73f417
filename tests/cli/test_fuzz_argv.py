"""Fuzzed `hpo study` command lines, in-process: any argv is accepted (validated, handed to the
run) or refused with one line on stderr and exit code 2, never a traceback; and no argv, accepted
or refused, changes an existing finished study's SQLite file by a byte."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpo.cli import run_command
from hpo.cli.flags import FLAGS
from hpo.cli.study import SUBCOMMANDS
from hpo.config.run import RunConfig
from hpo.search import run as search_run
from hpo.testing.helpers import TINY_SPACE, file_digest, run_cli, write_space

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

OPTIONS = [*FLAGS, "--preset", "--list-presets", "--list", "--version", "--help"]
VALUES = st.sampled_from(
    ["0", "1", "2", "-1", "3.5", "1e999", "nan", "inf", "-inf", "", " ", "auto", "15ep", "-2ep",
     "0s", "60s", "tpe", "grid", "bayes", "none", "median", "asha", "mnist_cnn", "resnet18",
     "vgg99", "digits", "imagenet", "val_acc", "val_loss", "time_to_acc:0.9", "time_to_acc:2",
     "csv", "csv,tensorboard", "xml", "best", "all", "sqlite:///{dir}/other.db",
     "sqlite:///{dir}/a_file/x.db", "mongodb://h/x", "journal://", "redis://[", "{dir}/space.yaml",
     "{dir}/bad.yaml", "{dir}/nope.yaml", "{dir}", "../up", "a/b", "name\x00", "x" * 300,
     "seed004_ethanet", "fashion_mnist", "seed00", "4294967296", "99999999999999999999"]
) | st.text(max_size=10)  # fmt: skip
TOKEN = st.one_of(
    st.tuples(st.sampled_from(OPTIONS), VALUES).map(list),
    st.tuples(st.sampled_from(OPTIONS), VALUES).map(lambda p: [f"{p[0]}={p[1]}"]),
    st.sampled_from(OPTIONS).map(lambda o: [o]),
    st.sampled_from(["--n-tri", "--sampl", "-h", "--", "-", "--no-such-flag"]).map(lambda o: [o]),
    VALUES.map(lambda v: [v]),
)
REAL_RUN = search_run.run
ARGV = st.lists(TOKEN, max_size=6).map(lambda tokens: [t for token in tokens for t in token])


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    ran: list[RunConfig]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The working directory of every run: a space, a bad space, a file where a folder should
    be; no $HPO_STORAGE."""
    directory = tmp_path_factory.mktemp("fuzz_argv")
    write_space(directory)
    (directory / "bad.yaml").write_text("params:\n  lr: {type: float, low: 1\n")
    (directory / "a_file").write_text("not a directory")
    before, storage = os.getcwd(), os.environ.pop("HPO_STORAGE", None)
    os.chdir(directory)
    yield directory
    os.chdir(before)
    if storage is not None:
        os.environ["HPO_STORAGE"] = storage


def study(argv: list[str], directory: Path, run=None) -> Outcome:
    """`hpo study ARGV` in this process; `run` stands in for hpo.search.run.run if given."""
    argv = [arg.replace("{dir}", str(directory)) for arg in argv]
    ran: list[RunConfig] = []

    def record(config: RunConfig, command: str) -> int:
        ran.append(config)
        return 0

    out, err = io.StringIO(), io.StringIO()
    search_run.run = run or record
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_command("study", argv, prog="hpo study")
    finally:
        search_run.run = REAL_RUN
    return Outcome(code, out.getvalue(), err.getvalue(), ran)


def assert_accepted_or_one_line(outcome: Outcome) -> None:
    assert "Traceback" not in outcome.stderr, outcome.stderr
    if outcome.code == 0:
        return
    assert outcome.code == 2, outcome
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0], outcome.stderr
    assert not outcome.ran


@FUZZ
@given(ARGV)
def test_any_argv_is_accepted_or_one_usage_line(workdir: Path, argv: list[str]) -> None:
    if argv and argv[0] in SUBCOMMANDS:  # another command's argv
        return
    outcome = study(argv, workdir)
    assert_accepted_or_one_line(outcome)


@pytest.fixture(scope="module")
def finished(workdir: Path) -> tuple[Path, list[str]]:
    """A real finished study (2 trials, 1 epoch) and the flags that name it."""
    directory = workdir / "finished"
    directory.mkdir()
    space = write_space(directory, TINY_SPACE)
    db = directory / "study.db"
    names = ["--storage", f"sqlite:///{db}", "--study-name", "done", "--n-trials", "2"]
    same = ["--space", str(space), "--max-epochs", "1", *names]
    result = run_cli("hpo.study", *same, "--quiet", cwd=directory)
    assert result.returncode == 0, result.stderr
    return db, same


@FUZZ
@given(ARGV)
def test_no_argv_changes_a_finished_study_by_a_byte(
    workdir: Path, finished: tuple[Path, list[str]], argv: list[str]
) -> None:
    """The real run (without training: the study is finished, or the argv is refused)."""
    if argv and argv[0] in SUBCOMMANDS:
        return
    db, same = finished
    digest = file_digest(db)
    real_train, search_run._train = search_run._train, _no_training
    try:
        outcome = study([*argv, *same], workdir, run=REAL_RUN)
    finally:
        search_run._train = real_train
    assert_accepted_or_one_line(outcome)
    assert file_digest(db) == digest


def _no_training(*args: object) -> int:
    raise AssertionError("a finished study must not train")
