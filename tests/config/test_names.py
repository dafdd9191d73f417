"""Study and experiment names: unsafe ones are usage errors before anything is created, and
every name maps to one folder inside its root."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo.config.names import check_name, study_folder
from hpo.errors import UsageError
from hpo.testing.helpers import run_cli

UNSAFE = ["../../x", "..", "a/b", "a\\b", "x..y", "tab\there", "nl\nx", "", " "]


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="--study-name"):
        check_name("--study-name", name)


@pytest.mark.parametrize("name", ["digits-mnist_cnn-tpe", "cmp.v2", "été 2024", "a-b_c"])
def test_ordinary_names_pass(name: str) -> None:
    check_name("--study-name", name)


@pytest.mark.parametrize(
    "name", ["..", ".", "../../x", "a/../../b", "cmp/tpe/seed0", "/etc", ".hidden", "", "\\..\\"]
)
def test_every_name_is_one_folder_inside_its_root(tmp_path: Path, name: str) -> None:
    folder = study_folder(name)
    assert folder and "/" not in folder and "\\" not in folder
    assert not folder.startswith(".")
    assert (tmp_path / folder).resolve().parent == tmp_path.resolve()


def test_compare_names_stay_readable() -> None:
    assert study_folder("cmp/tpe/seed0") == "cmp_tpe_seed0"
    assert study_folder("digits-mnist_cnn-tpe") == "digits-mnist_cnn-tpe"


@pytest.mark.parametrize(
    "module, args, flag",
    [
        ("hpo.study", ["--study-name", "../../x", "--loggers", "csv"], "--study-name"),
        ("hpo.study", ["--study-name", "a/b"], "--study-name"),
        ("hpo.compare", ["--experiment", "../up", "--samplers", "random"], "--experiment"),
    ],
)
def test_the_cli_refuses_them_and_creates_nothing(
    tmp_path: Path, space_file: Path, module: str, args: list[str], flag: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    url = f"sqlite:///{work / 'studies' / 'x.db'}"
    common = ["--n-trials", "1", "--max-epochs", "1", "--space", str(space_file)]
    result = run_cli(module, *args, *common, "--storage", url, cwd=work)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and flag in result.stderr
    assert "Traceback" not in result.stderr
    assert list(work.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["work", space_file.name]
    )
