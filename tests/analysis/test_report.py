"""hpo.report: numbers equal to those recomputed from the storage, the statistics, the files."""

from __future__ import annotations

import json
import shlex
import statistics
import subprocess
from pathlib import Path

import optuna
import pytest
from optuna.artifacts import get_all_artifact_meta
from optuna_dashboard import get_note

from hpo.analysis.results import mann_whitney
from hpo.compare import main as compare
from hpo.config.run import PROJECT_ROOT
from hpo.persist.artifacts import artifact_store
from hpo.persist.storages import open_storage
from hpo.testing.helpers import cli_env, run_cli

TABLE = f"table:{PROJECT_ROOT / 'hpo/tables/digits_mnist_cnn.json.gz'}"
REPLAY_SPACE = str(PROJECT_ROOT / "conf/spaces/replay.yaml")


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> str:
    """3 samplers × 4 seeds × 12 replayed trials (a second or two)."""
    url = f"journal:///{tmp_path_factory.mktemp('rep') / 'cmp.log'}"
    args = ["--experiment", "rep", "--objective", TABLE, "--space", REPLAY_SPACE]
    args += ["--storage", url, "--max-epochs", "20", "--seeds", "0-3", "--n-trials", "12"]
    assert compare(args) == 0
    return url


def test_mann_whitney_on_a_known_case() -> None:
    # Fully separated samples of 3: exact U = 0, two-sided p = 2/20, one-sided p = 1/20.
    low, high = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    result = mann_whitney(high, low, "maximize")
    assert result["U"] == 9.0
    assert result["p_two_sided"] == pytest.approx(0.1)
    assert result["p_better"] == pytest.approx(0.05)
    assert mann_whitney(low, high, "maximize")["p_better"] == pytest.approx(1.0)
    assert mann_whitney(low, high, "minimize")["p_better"] == pytest.approx(0.05)


def test_the_table_equals_numbers_recomputed_from_storage(tmp_path: Path, experiment: str) -> None:
    result = run_cli(
        "hpo.report", "--storage", experiment, "--experiment", "rep", "--out", str(tmp_path),
        "--target", "0.95", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    storage = open_storage(experiment)
    rows = {r["method"]: r for r in summary["rows"]}
    assert sorted(rows) == ["grid", "random", "tpe"]
    for method, row in rows.items():
        bests, pruned, epochs, to_target = [], [], [], []
        for seed in range(4):
            study = optuna.load_study(study_name=f"rep/{method}/seed{seed}", storage=storage)
            trials = study.get_trials(deepcopy=False)
            bests.append(study.best_value)
            pruned.append(sum(t.state.name == "PRUNED" for t in trials))
            epochs.append(sum(t.user_attrs["epochs"] for t in trials))
            hits = [
                i + 1
                for i in range(len(trials))
                if max((t.value for t in trials[: i + 1] if t.value is not None), default=0)
                >= 0.95
            ]
            if hits:
                to_target.append(hits[0])
        assert row["seeds"] == 4
        assert row["mean"] == pytest.approx(statistics.mean(bests))
        assert row["std"] == pytest.approx(statistics.stdev(bests))
        assert row["median"] == pytest.approx(statistics.median(bests))
        assert (row["min"], row["max"]) == (min(bests), max(bests))
        assert row["pruned"] == pytest.approx(statistics.mean(pruned))
        assert row["epochs"] == pytest.approx(statistics.mean(epochs))
        assert row["reached"] == len(to_target)
        if to_target:
            assert row["trials_to_target"] == statistics.median(to_target)
    md = (tmp_path / "report.md").read_text()
    names = ("best_so_far", "valley", "histograms", "scatter3d", "importances")
    for name in (*names, "critical_difference"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert f"({name}.png)" in md
    assert "Mann-Whitney" in md and "<table>" in (tmp_path / "report.html").read_text()
    assert "Holm" in md and "Friedman" in md and "Nemenyi" in md
    for row in rows.values():
        assert row["median_low"] <= row["median"] <= row["median_high"]
    tests = summary["tests"]
    assert len(tests) == 3 and all(t["p_holm"] >= t["p_two_sided"] for t in tests)
    assert set(summary["ranking"]["ranks"]) == {"grid", "random", "tpe"}
    assert "tpe" in result.stdout and "p =" in result.stdout


def test_reporting_a_missing_storage_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    result = run_cli(
        "hpo.report", "--storage", url, "--experiment", "x", "--out", "r", cwd=tmp_path
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "r").exists()


def test_an_unknown_experiment_names_the_fix(tmp_path: Path, experiment: str) -> None:
    result = run_cli(
        "hpo.report", "--storage", experiment, "--experiment", "nope", "--out", "r", cwd=tmp_path
    )
    assert result.returncode == 2 and "hpo compare --experiment" in result.stderr


def _trials(url: str) -> dict[str, list[tuple]]:
    storage = open_storage(url)
    return {
        name: [
            (t.state, t.params, t.values, t.user_attrs, t.intermediate_values)
            for t in optuna.load_study(study_name=name, storage=storage).trials
        ]
        for name in optuna.get_all_study_names(storage)
    }


def test_report_attaches_itself_to_every_study_and_changes_no_trial(
    tmp_path: Path, experiment: str
) -> None:
    before = _trials(experiment)
    out = tmp_path / "r"
    # No --experiment: the storage holds one comparison, so that is the one reported.
    result = run_cli("hpo.report", "--storage", experiment, "--out", str(out), "--no-plots",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Attached to the 12 studies of 'rep'" in result.stdout
    assert _trials(experiment) == before  # the report is the one thing written
    storage = open_storage(experiment)
    html = (out / "report.html").read_bytes()
    for name in before:
        study = optuna.load_study(study_name=name, storage=storage)
        assert study.user_attrs["experiment"] == "rep"
        assert study.metric_names == ["val_acc"]
        link = study.user_attrs["report"]  # /artifacts/<study id>/<artifact id>
        assert f"**Report**: [report.html]({link})" in get_note(study)
        reports = [m for m in get_all_artifact_meta(study) if m.filename == "report.html"]
        assert link.endswith(reports[-1].artifact_id)
        with artifact_store(experiment).open_reader(reports[-1].artifact_id) as f:
            assert f.read() == html
    # The note's "run the comparison again" command works as pasted, from anywhere.
    rerun = get_note(study).split("**Run the comparison again**", 1)[1].split("`")[1]
    again = subprocess.run(shlex.split(rerun), cwd=out, env=cli_env(), capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already done") == len(before)
