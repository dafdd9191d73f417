"""`hpo.study export` equals the storage; `best` YAML retrains to the same value (`retrain`)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml

from hpo.study import main as study_main
from hpo.testing.helpers import file_digest, run_cli

# The commands are called in-process (`main(argv)`, as from a shell minus the interpreter
# start-up); the retrain round trip runs as a real subprocess.


def call(capsys, *argv: str) -> tuple[int, str, str]:
    code = study_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_table_equals_storage(frame: pd.DataFrame, study) -> None:
    trials = study.trials
    assert list(frame["number"]) == [t.number for t in trials]
    for row, trial in zip(frame.to_dict("records"), trials, strict=True):
        assert row["state"] == trial.state.name
        assert row["value"] == trial.value
        for name, value in trial.params.items():
            assert row[f"params_{name}"] == value, name
        for name, value in trial.user_attrs.items():
            cell = row[f"user_attrs_{name}"]
            if value is None:  # e.g. the `checkpoint` of a trial whose checkpoint was not kept
                assert cell is None or (isinstance(cell, float) and math.isnan(cell)), name
                continue
            assert (json.loads(cell) if isinstance(value, list | dict) else cell) == value, name
        assert math.isclose(row["duration_s"], trial.duration.total_seconds())


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_holds_exactly_what_the_storage_holds(small_study, tmp_path, fmt, capsys):
    before = file_digest(small_study.db)
    out = tmp_path / f"trials.{fmt}"
    code, _, err = call(
        capsys, "export", "--format", fmt, "-o", str(out), "--storage", small_study.url
    )
    assert code == 0, err
    assert f"Wrote {small_study.n_trials} trials" in err
    if fmt == "csv":
        frame = pd.read_csv(out, float_precision="round_trip")
    else:
        frame = pd.read_parquet(out)
    assert_table_equals_storage(frame, small_study.load())
    assert file_digest(small_study.db) == before


def test_export_and_best_errors_are_one_line(small_study, tmp_path, capsys):
    before = file_digest(small_study.db)
    cases = [
        (["export", "--format", "xlsx", "--storage", small_study.url], "csv, parquet"),
        (["export", "--storage", f"sqlite:///{tmp_path}/no.db"], "no study storage"),
        (["best", "--storage", small_study.url, "--study-name", "x"], "it holds: ui-study"),
        (["export", "-o", str(tmp_path / "no" / "t.csv"), "--storage", small_study.url], "dir"),
        (["export", "--format", "parquet", "-o", "-", "--storage", small_study.url], "binary"),
    ]
    for argv, message in cases:
        code, _, err = call(capsys, *argv)
        assert code == 2 and message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "no.db").exists()
    assert file_digest(small_study.db) == before


def test_best_yaml_retrains_to_the_best_trials_value(small_study, tmp_path, capsys):
    study = small_study.load()
    code, best_yaml, err = call(capsys, "best", "--storage", small_study.url)
    assert code == 0, err
    config = yaml.safe_load(best_yaml)
    assert config["trial"] == study.best_trial.number
    assert config["params"] == {**study.best_trial.params, "batch_size": 64, "width": 2}
    assert config["value"] == study.best_value

    params_file = tmp_path / "best.yaml"
    params_file.write_text(best_yaml)
    retrained = run_cli("hpo.study", "retrain", "--params", str(params_file), cwd=tmp_path)
    assert retrained.returncode == 0, retrained.stderr
    lines = dict(line.split(" = ", 1) for line in retrained.stdout.splitlines() if " = " in line)
    # Same split, seed and epochs: the trial's value comes back (printed to 4 decimals).
    assert float(lines["val_acc"].split()[0]) == pytest.approx(study.best_value, abs=6e-5)
    assert 0.0 <= float(lines["test_acc"].split()[0]) <= 1.0


def test_retrain_rejects_a_bad_params_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"params": {"lr": 0.01, "colour": "red"}}))
    for path, message in [(bad, "colour"), (tmp_path / "none.yaml", "cannot read")]:
        code, _, err = call(capsys, "retrain", "--params", str(path))
        assert code == 2 and message in err
        assert len(err.strip().splitlines()) == 1
