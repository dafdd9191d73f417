"""A storage password never shows: not in any console line, user or system attr, note, artifact
or other file of a real PostgreSQL `hpo study` and `hpo compare` run, nor in the read commands'
output or errors (trust authentication ignores the password, so the runs are real)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from hpo.cli import main
from hpo.persist.internals import base_storage, study_id
from hpo.persist.storages import open_storage
from hpo.persist.urls import redact
from hpo.testing.helpers import cli_env
from hpo.testing.services import fresh_postgres_database

SECRET = "s3cret"


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_postgres_database() as url:
        open_storage(url)  # Optuna's tables (see tests/cli/test_which_study.py)
        yield url


def hpo(cwd: Path, *args: str, **env: str) -> str:
    """Run `hpo …` as a user would; its console output (stdout and stderr)."""
    result = subprocess.run(
        [sys.executable, "-m", "hpo", *args],
        cwd=cwd,
        env={**cli_env(), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def everything_stored(url: str) -> str:
    """Every study's user and system attrs (notes are system attrs) and every trial's."""
    storage = open_storage(url)
    parts = []
    for name in optuna.get_all_study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage)
        parts.append(repr(study.user_attrs))
        parts.append(repr(base_storage(study).get_study_system_attrs(study_id(study))))
        parts += [repr((t.user_attrs, t.system_attrs)) for t in study.trials]
    return "\n".join(parts)


def files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_no_password_in_any_output_attr_note_or_file(
    tmp_path: Path, space_file: Path, database: str, capsys, monkeypatch
) -> None:
    in_userinfo = database.replace("root@", f"root:{SECRET}@")
    in_query = f"{database}?password={SECRET}"
    run = ["--n-trials", "2", "--max-epochs", "1", "--space", str(space_file), "--pruner", "none"]
    shown = [  # the runs as real processes, their console lines as a user sees them
        hpo(tmp_path, "study", *run, "--storage", in_userinfo, "--study-name", "argv"),
        hpo(tmp_path, "study", *run, "--study-name", "env", HPO_STORAGE=in_userinfo),
        hpo(tmp_path, "compare", "--experiment", "cmp", "--samplers", "random", "--seeds", "0",
            *run, "--storage", in_query),
    ]  # fmt: skip
    monkeypatch.chdir(tmp_path)  # the read commands, in this process
    monkeypatch.setenv("HPO_STORAGE", in_query)
    for argv in (
        ["report", "--out", str(tmp_path / "report"), "--no-plots"],
        ["status", "--all", "--storage", in_userinfo],
        ["best", "--study-name", "env", "-o", "best.yaml"],
        ["export", "--study-name", "argv", "--storage", in_query],
        ["status", "--storage", "postgresql://root:s3cret@127.0.0.1:1/x"],  # unreachable
    ):
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == (2 if "127.0.0.1:1" in argv[-1] else 0), err
        shown.append(out + err)
    console = "\n".join(shown)
    assert SECRET not in console
    assert "root:***@" in console and "cannot open storage" in console
    stored = everything_stored(database)
    assert SECRET not in stored
    assert "root:***@" in stored and "password=***" in stored  # the commands, as they ran
    assert files_holding(tmp_path, SECRET) == []  # artifacts, checkpoints, report, exports
    assert any((tmp_path / "studies" / "artifacts").iterdir())  # there were artifacts to read


@pytest.mark.parametrize(
    "text, shown",
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("redis://:pw@h:6379/0?prefix=a", "redis://:***@h:6379/0?prefix=a"),
        ("postgresql://u@h/db?password=pw&ssl=1", "postgresql://u@h/db?password=***&ssl=1"),
        ("hpo s --storage=mysql://u:pw@h/db -q", "hpo s --storage=mysql://u:***@h/db -q"),
        ("sqlite:///studies/hpo.db", "sqlite:///studies/hpo.db"),
    ],
)  # fmt: skip
def test_redact_masks_urls_and_command_lines(text: str, shown: str) -> None:
    assert redact(text) == shown
    assert "pw" not in redact(text, mask=None)  # the password dropped: pasteable commands


def test_hpo_storage_is_the_default_of_every_storage_flag(tmp_path: Path, monkeypatch) -> None:
    from hpo.cli.flags import STUDY_FLAGS, add_flags
    from hpo.cli.report import build_parser as report_parser
    from hpo.cli.status import build_parser as status_parser

    monkeypatch.setenv("HPO_STORAGE", "journal:///elsewhere.log")
    import argparse

    parser = argparse.ArgumentParser()
    add_flags(parser, STUDY_FLAGS)
    assert parser.parse_args([]).storage == "journal:///elsewhere.log"
    for build in (report_parser, status_parser):
        assert build("x").parse_args([]).storage == "journal:///elsewhere.log"
    monkeypatch.delenv("HPO_STORAGE")
    assert status_parser("x").parse_args([]).storage == "sqlite:///studies/hpo.db"
    assert os.environ.get("HPO_STORAGE") is None
