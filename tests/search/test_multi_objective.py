"""Multi-objective studies on real fits: two directions, no pruning, the Pareto set in every read
command, the metrics in the study's identity, and bad metric lists refused before torch loads."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml
from optuna.study import StudyDirection
from optuna.trial import TrialState

from hpo.analysis.pareto import REFERENCE, pareto_report
from hpo.config.metrics import create_metrics, metric_values
from hpo.testing.helpers import cli_env, run_cli, write_space

#: width changes n_params, so the two objectives conflict on a tiny fit.
SPACE = {
    "params": {
        "lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
        "width": {"type": "int", "low": 1, "high": 4},
    },
    "fixed": {"batch_size": 64, "optimizer": "adam"},
}
METRIC = "val_acc,n_params"
NAME = "mo"


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """One real NSGA-II study of 4 one-epoch trials, through the CLI."""
    tmp = tmp_path_factory.mktemp("multi")
    write_space(tmp, SPACE)
    url = f"sqlite:///{tmp / 'mo.db'}"
    result = run_cli("hpo.study", *_args(url, "--sampler", "nsga2"), cwd=tmp)
    assert result.returncode == 0, result.stderr
    return tmp, url, result.stdout


def _args(url: str, *extra: str, metric: str = METRIC) -> list[str]:
    return [
        *("--metric", metric, "--n-trials", "4", "--max-epochs", "1", "--limit-batches", "4"),
        *("--space", "space.yaml", "--storage", url, "--study-name", NAME, *extra),
    ]


def _load(url: str) -> optuna.Study:
    return optuna.load_study(study_name=NAME, storage=url)


def test_a_metric_list_makes_one_direction_per_metric_named_for_the_dashboard(study_dir) -> None:
    _, url, stdout = study_dir
    study = _load(url)
    assert study.directions == [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE]
    assert study.metric_names == ["val_acc", "n_params"]
    assert study.user_attrs["identity"]["metric"] == METRIC
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 4  # nothing pruned: pruning is off
    for trial in done:
        accuracy, params = trial.values
        assert 0.0 <= accuracy <= 1.0
        assert params == trial.user_attrs["n_params"]
        best = max(row["val_acc"] for row in trial.user_attrs["curve"])
        assert accuracy == pytest.approx(best, abs=1e-6)  # the curve attr is rounded
    assert "pruning is off" in stdout and "--pruner median is not used" in stdout
    assert "--metric val_acc,n_params" in study.user_attrs["reproduce"]
    pareto = {t.number for t in study.best_trials}
    assert f"Pareto set (val_acc ↑, n_params ↓): {len(pareto)} trial(s)" in stdout


def test_best_prints_the_pareto_set_and_writes_one_trial_for_retrain(study_dir) -> None:
    tmp, url, _ = study_dir
    study = _load(url)
    result = run_cli("hpo", "best", "--storage", url, "--study-name", NAME, cwd=tmp)
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert printed["objectives"] == {"val_acc": "maximize", "n_params": "minimize"}
    listed = {entry["trial"]: entry for entry in printed["pareto_set"]}
    assert set(listed) == {t.number for t in study.best_trials}
    for trial in study.best_trials:
        assert list(listed[trial.number]["values"].values()) == trial.values
        assert listed[trial.number]["params"] == trial.params
    chosen = study.best_trials[0]
    out = tmp / "one.yaml"
    args = ["best", "--storage", url, "--study-name", NAME, "--trial", str(chosen.number)]
    result = run_cli("hpo", *args, "-o", str(out), cwd=tmp)
    assert result.returncode == 0, result.stderr
    one = yaml.safe_load(out.read_text())
    assert (one["trial"], one["metric"], one["value"]) == (
        chosen.number,
        "val_acc",
        chosen.values[0],
    )
    assert one["params"] == {**chosen.params, "batch_size": 64, "optimizer": "adam"}


def test_status_export_and_a_rerun_read_the_multi_objective_study(study_dir) -> None:
    tmp, url, _ = study_dir
    study = _load(url)
    status = run_cli("hpo", "status", "--storage", url, "--study-name", NAME, cwd=tmp)
    assert status.returncode == 0, status.stderr
    assert f"Pareto set: {len(study.best_trials)} trial(s)" in status.stdout
    export = run_cli("hpo", "export", "--storage", url, "--study-name", NAME, "-o", "-", cwd=tmp)
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert len(rows) == 4
    assert {"values_val_acc", "values_n_params"} <= set(rows[0])
    again = run_cli("hpo.study", *_args(url, "--sampler", "nsga2"), cwd=tmp)
    assert again.returncode == 0, again.stderr
    assert "already done: 4 of 4" in again.stdout and "Pareto set" in again.stdout


def test_the_metrics_are_part_of_the_study_identity(study_dir) -> None:
    tmp, url, _ = study_dir
    result = run_cli("hpo.study", *_args(url, "--sampler", "nsga2", metric="val_acc"), cwd=tmp)
    assert result.returncode == 2
    assert "metric: 'val_acc,n_params' → 'val_acc'" in result.stderr


PROBE = """
import json, sys
from hpo.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "lightning") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""

BAD = {
    "unknown metric": (["--metric", "val_acc,train_secs"], "(did you mean 'train_seconds'?)"),
    "duplicate": (["--metric", "val_acc,val_acc"], "names val_acc twice"),
    "time to target": (
        ["--metric", "val_acc,time_to_acc:0.9", "--cap", "10"],
        "cannot be one of several objectives",
    ),
    "cost alone": (["--metric", "n_params"], "n_params is a cost, not a goal"),
    "single-objective sampler": (
        ["--metric", METRIC, "--sampler", "cmaes"],
        "use one of: nsga2, tpe, random",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_metric_lists_are_one_line_exit_2_before_torch_and_storage(tmp_path, case) -> None:
    args, expected = BAD[case]
    db = tmp_path / "never.db"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "study", *args, "--storage", f"sqlite:///{db}"],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    *lines, last = result.stderr.strip().splitlines()
    assert json.loads(last) == {"code": 2, "heavy": []}
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr
    assert not db.exists()


def test_hypervolume_per_method_on_known_fronts(tmp_path) -> None:
    """Two methods, two seeds, fronts whose hypervolumes are computed by hand."""
    url = f"sqlite:///{tmp_path / 'cmp.db'}"
    fronts = {
        ("good", 0): [(1.0, 10.0), (0.5, 0.0)],
        ("good", 1): [(1.0, 10.0)],
        ("poor", 0): [(0.0, 0.0)],
        ("poor", 1): [(0.0, 10.0)],
    }
    for (method, seed), points in fronts.items():
        study = optuna.create_study(
            storage=url, study_name=f"cmp/{method}/seed{seed}", directions=["maximize", "minimize"]
        )
        study.set_metric_names(["val_acc", "n_params"])
        for values in points:
            study.add_trial(optuna.create_trial(values=list(values)))
    report = pareto_report(url, "cmp")
    assert report is not None and report.bounds == [(1.0, 0.0), (0.0, 10.0)]
    volumes = {(m, s): v for m, rows in report.studies.items() for s, v, _, _ in rows}
    r = REFERENCE
    # Scaled losses (1 - acc, n_params / 10): good/seed0 = {(0, 1), (0.5, 0)}.
    assert volumes[("good", 0)] == pytest.approx(r * (r - 1) + (r - 0.5) * 1)
    assert volumes[("good", 1)] == pytest.approx(r * (r - 1))
    assert volumes[("poor", 0)] == pytest.approx((r - 1) * r)
    assert volumes[("poor", 1)] == pytest.approx((r - 1) * (r - 1))
    rows = {row["method"]: row for row in report.rows}
    assert rows["good"]["median"] == pytest.approx(
        np.median([volumes[("good", s)] for s in (0, 1)])
    )


def test_hpo_report_on_a_multi_objective_comparison(tmp_path) -> None:
    """hpo compare with two objectives (real fits), then hpo report: fronts and hypervolumes."""
    write_space(tmp_path, SPACE)
    url = f"sqlite:///{tmp_path / 'cmp.db'}"
    args = ["--experiment", "mo", "--methods", "nsga2,random", "--seeds", "0-1", "--workers", "1"]
    args += ["--metric", METRIC, "--n-trials", "3", "--max-epochs", "1", "--space", "space.yaml"]
    compared = run_cli("hpo.compare", *args, "--storage", url, cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr
    out = tmp_path / "report"
    result = run_cli(
        "hpo.report", "--storage", url, "--experiment", "mo", "--out", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "reference point 1.1" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["studies"]) == {"nsga2", "random"}
    assert all(len(rows) == 2 for rows in summary["studies"].values())
    assert (out / "pareto_nsga2.png").stat().st_size > 0
    assert "Hypervolume per method" in (out / "report.md").read_text()


def test_train_seconds_is_the_last_epoch_and_n_params_a_fact_of_the_fit() -> None:
    curve = [{"val_acc": 0.5, "elapsed_s": 1.5}, {"val_acc": 0.7, "elapsed_s": 3.25}]
    metrics = create_metrics("val_acc,train_seconds,n_params")
    assert [m.direction for m in metrics] == ["maximize", "minimize", "minimize"]
    assert metric_values(metrics, curve, {"n_params": 1234.0}) == [0.7, 3.25, 1234.0]


def test_hpo_compare_refuses_a_single_objective_method_for_several_metrics(tmp_path) -> None:
    db = tmp_path / "never.db"
    args = ["compare", "--experiment", "mo", "--methods", "random,cmaes", "--metric", METRIC]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--storage", f"sqlite:///{db}"],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    *lines, last = result.stderr.strip().splitlines()
    assert json.loads(last) == {"code": 2, "heavy": []}
    assert len(lines) == 1 and "--sampler cmaes searches one objective" in lines[0]
    assert not db.exists()
