"""--warm-start-from through the real CLI: another study's best configurations run first, fitted
to the new space, once; a missing source is one line before torch loads."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from hpo.persist.internals import base_storage, study_id
from hpo.search.warm_start import DONE_KEY, ranked
from hpo.testing.helpers import ROOT, cli_env, run_cli, write_space

SOURCE_SPACE = {
    "lr": FloatDistribution(1e-3, 1.0, log=True),
    "optimizer": CategoricalDistribution(["adam", "momentum", "sgd"]),
}
#: (lr, optimizer, val_acc) of the source's trials; the best is #1, then #2, then #0.
SOURCE_TRIALS = [
    (0.05, "adam", 0.90),
    (0.2, "momentum", 0.95),
    (0.01, "sgd", 0.92),
    (0.02, "adam", 0.5),
]


def _source(url: str, name: str = "small") -> optuna.Study:
    """A finished source study on a wider space than the target's (TINY_SPACE)."""
    study = optuna.create_study(storage=url, study_name=name, direction="maximize")
    for lr, optimizer, value in SOURCE_TRIALS:
        trial = optuna.create_trial(
            params={"lr": lr, "optimizer": optimizer}, distributions=SOURCE_SPACE, value=value
        )
        study.add_trial(trial)
    study.add_trial(optuna.create_trial(state=optuna.trial.TrialState.FAIL))
    return study


def _run(tmp: Path, target: str, n_trials: int, *extra: str):
    args = ["--n-trials", str(n_trials), "--max-epochs", "1", "--limit-batches", "2"]
    args += ["--space", "space.yaml", "--storage", target, "--study-name", "big", *extra]
    return run_cli("hpo.study", *args, cwd=tmp)


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("warm")
    write_space(tmp)
    source, target = f"sqlite:///{tmp / 'small.db'}", f"sqlite:///{tmp / 'big.db'}"
    _source(source)
    flags = ["--warm-start-from", "small", "--warm-start-top", "3"]
    first = _run(tmp, target, 3, *flags, "--warm-start-storage", source)
    assert first.returncode == 0, first.stderr
    resumed = _run(tmp, target, 5, *flags, "--warm-start-storage", source)
    assert resumed.returncode == 0, resumed.stderr
    return tmp, target, first.stdout, resumed.stdout


def test_the_best_source_configurations_run_first_fitted_to_the_new_space(warm) -> None:
    _, target, stdout, _ = warm
    trials = optuna.load_study(study_name="big", storage=target).trials
    # #1 (best, lr clipped into the new range), #2 skipped (sgd is not a choice), then #0.
    assert trials[0].params == {"lr": 0.1, "optimizer": "momentum"}
    assert trials[1].params == {"lr": 0.05, "optimizer": "adam"}
    assert [t.user_attrs.get("warm_start") for t in trials[:3]] == ["small#1", "small#0", None]
    assert "#1 enqueued (clipped lr 0.2 → 0.1)" in stdout
    assert "#2 skipped: optimizer='sgd' is not a choice of the new space" in stdout


def test_a_resumed_study_does_not_enqueue_again(warm) -> None:
    _, target, _, resumed = warm
    study = optuna.load_study(study_name="big", storage=target)
    assert len(study.trials) == 5
    assert "Warm start" not in resumed
    assert [t.user_attrs.get("warm_start") for t in study.trials[3:]] == [None, None]
    attrs = base_storage(study).get_study_system_attrs(study_id(study))
    assert attrs[DONE_KEY] == "small"


def test_the_stored_command_of_a_warm_started_study_runs_into_a_fresh_storage(tmp_path) -> None:
    write_space(tmp_path)
    both = f"sqlite:///{tmp_path / 'both.db'}"  # the source in the study's own storage
    _source(both)
    original = _run(tmp_path, both, 2, "--warm-start-from", "small")
    assert original.returncode == 0, original.stderr
    command = optuna.load_study(study_name="big", storage=both).user_attrs["reproduce"]
    assert f"--warm-start-storage {both}" in command  # the source's storage, spelled out
    words = shlex.split(command)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    words[words.index("--storage") + 1] = fresh
    (tmp_path / "elsewhere").mkdir()
    pasted = subprocess.run(words, cwd=tmp_path / "elsewhere", env=cli_env(),
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert pasted.returncode == 0, pasted.stderr
    params = [
        [t.params for t in optuna.load_study(study_name="big", storage=url).trials]
        for url in (both, fresh)
    ]
    assert params[0] == params[1] and params[0][0] == {"lr": 0.1, "optimizer": "momentum"}


def test_a_multi_objective_source_ranks_its_pareto_set_first(tmp_path) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    for values in [(0.9, 100.0), (0.95, 500.0), (0.8, 50.0), (0.7, 400.0)]:
        study.add_trial(optuna.create_trial(values=list(values)))
    # Pareto set {#0, #1, #2} by val_acc, then the dominated #3.
    assert [t.number for t in ranked(study)] == [1, 0, 2, 3]


PROBE = """
import json, sys
from hpo.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "lightning") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--warm-start-from", "smal"], "no study 'smal' in"),
        (["--warm-start-from", "small", "--warm-start-top", "0"], "--warm-start-top must be"),
        (
            ["--warm-start-from", "small", "--warm-start-storage", "sqlite:///nope.db"],
            "no study storage at",
        ),
    ],
)
def test_a_bad_source_is_one_line_exit_2_before_torch(tmp_path, args, expected) -> None:
    write_space(tmp_path)
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    _source(url)
    before = optuna.get_all_study_names(url)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "study", "--space", "space.yaml", "--storage", url, *args],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    *lines, last = result.stderr.strip().splitlines()
    assert json.loads(last) == {"code": 2, "heavy": []}, result.stderr
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr
    if "smal'" in expected:
        assert "(did you mean 'small'?)" in lines[0]
    assert optuna.get_all_study_names(url) == before


def test_the_warm_start_experiment_on_the_shipped_table_charges_equal_cost(tmp_path) -> None:
    """benchmarks/warm_start.py on the 2-D table (short fits = "small"), 2 seeds."""
    url = f"journal:///{tmp_path / 'ws.log'}"
    args = ["--table", str(ROOT / "hpo/tables/digits_mnist_cnn.json.gz")]
    args += ["--space", str(ROOT / "conf/spaces/replay.yaml"), "--seeds", "0-1", "--top", "2"]
    args += ["--small-trials", "6", "--big-trials", "6", "--small-epochs", "3"]
    args += ["--big-epochs", "10", "--storage", url, "--out", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/warm_start.py"), *args],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "results.json").read_text())["per_seed"]
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "ws.log"))
    )
    for seed, row in enumerate(rows):
        small = optuna.load_study(study_name=f"small/{seed}", storage=storage)
        warm = optuna.load_study(study_name=f"warm/{seed}", storage=storage)
        top = ranked(small)[:2]
        assert [t.params for t in warm.trials[:2]] == [t.params for t in top]
        assert [t.user_attrs["warm_start"] for t in warm.trials[:2]] == [
            f"small/{seed}#{t.number}" for t in top
        ]
        spent = {
            name: sum(t.user_attrs.get("wall_seconds", 0) for t in study.trials)
            for name, study in (("small", small), ("warm", warm))
        }
        assert row["cost_seconds"] == pytest.approx(spent["small"] + spent["warm"])
        for method in ("tpe", "random"):
            baseline = optuna.load_study(study_name=f"{method}/{seed}", storage=storage)
            seconds = [t.user_attrs.get("wall_seconds", 0) for t in baseline.trials]
            paid = row[f"{method}_trials"]  # the trials that spend warm's cost, no fewer
            assert sum(seconds[:paid]) >= row["cost_seconds"] > sum(seconds[: paid - 1])
            assert len(seconds) >= 6
            assert row[method] == max(t.value for t in baseline.trials[:paid] if t.value)
