"""hpo.compare: product(methods, seeds) studies, same budget in trials/epochs, reruns, workers."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from hpo.bench.compare import budget_grid, trials_equivalent
from hpo.cli.compare import parse_budget, parse_seeds
from hpo.compare import main
from hpo.config.run import PROJECT_ROOT
from hpo.config.space import load_space
from hpo.errors import UsageError
from hpo.persist.storages import open_storage
from hpo.report import main as report
from hpo.search.budget import COUNTED, Budget
from hpo.testing.helpers import run_cli

TABLE = f"table:{PROJECT_ROOT / 'hpo/tables/digits_mnist_cnn.json.gz'}"
REPLAY_SPACE = str(PROJECT_ROOT / "conf/spaces/replay.yaml")


def studies(url: str, experiment: str) -> dict[str, optuna.Study]:
    storage = open_storage(url)
    names = [n for n in optuna.get_all_study_names(storage) if n.startswith(f"{experiment}/")]
    return {n: optuna.load_study(study_name=n, storage=storage) for n in names}


@pytest.fixture
def journal_url(tmp_path: Path) -> str:
    """Replay comparisons use a journal file: fast appends (see README, replay benchmark)."""
    return f"journal:///{tmp_path / 'cmp.log'}"


def replay(url: str, experiment: str, *extra: str) -> list[str]:
    return [
        "--experiment", experiment, "--objective", TABLE, "--space", REPLAY_SPACE,
        "--storage", url, "--max-epochs", "20", *extra,
    ]  # fmt: skip


def test_a_tiny_real_comparison_gives_every_method_seed_study(
    tmp_path: Path,
    space_file: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    one_torch_thread: None,
) -> None:
    args = ["--experiment", "tiny", "--samplers", "random,tpe", "--seeds", "0-1"]
    args += ["--n-trials", "3", "--max-epochs", "2", "--space", str(space_file)]
    args += ["--storage", sqlite_url, "--pruner", "none"]
    assert main(args) == 0
    found = studies(sqlite_url, "tiny")
    assert sorted(found) == [f"tiny/{m}/seed{s}" for m in ("random", "tpe") for s in (0, 1)]
    for study in found.values():
        trials = study.get_trials(states=COUNTED)
        assert len(trials) == 3 and all(t.user_attrs["epochs"] == 2 for t in trials)
        assert study.user_attrs["compare"]["objective"] == "train"
    seeds = {n: s.user_attrs["compare"]["sampler_seed"] for n, s in found.items()}
    assert len(set(seeds.values())) == 4  # no two studies share a sampler seed
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().out.count("already done") == 4
    out = tmp_path / "report"
    argv = ["--storage", sqlite_url, "--experiment", "tiny", "--out", str(out), "--no-plots"]
    assert report([*argv, "--retrain"]) == 0
    retrained = json.loads((out / "summary.json").read_text())["retrained"]
    assert sorted(retrained) == ["random", "tpe"]
    assert all(0.0 <= r["test_acc"] <= 1.0 for r in retrained.values())
    assert "test split" in (out / "report.md").read_text()
    assert all(len(s.get_trials()) == 3 for s in studies(sqlite_url, "tiny").values())


def test_a_rerun_with_a_larger_budget_continues_partial_studies(journal_url: str) -> None:
    assert main([*replay(journal_url, "grow", "--seeds", "0-1"), "--n-trials", "4"]) == 0
    assert main([*replay(journal_url, "grow", "--seeds", "0-1"), "--n-trials", "7"]) == 0
    found = studies(journal_url, "grow")
    assert len(found) == 6
    assert all(len(s.get_trials(states=COUNTED)) == 7 for s in found.values())


def test_the_epoch_budget_counts_pruned_epochs_and_is_honoured(journal_url: str) -> None:
    args = replay(journal_url, "ep", "--seeds", "0-2", "--budget", "epochs:200")
    assert main([*args, "--pruner-startup", "3"]) == 0
    found = studies(journal_url, "ep")
    pruned_somewhere = False
    for study in found.values():
        trials = study.get_trials(states=COUNTED)
        spent = sum(t.user_attrs["epochs"] for t in trials)
        before_last = spent - trials[-1].user_attrs["epochs"]
        grid_done = study.user_attrs["compare"]["method"] == "grid" and before_last < 200
        assert grid_done or (spent >= 200 and before_last < 200)  # stopped as soon as spent
        pruned = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
        pruned_somewhere |= any(0 < t.user_attrs["epochs"] < 20 for t in pruned)
    assert pruned_somewhere


def test_workers_give_the_same_studies_as_one_process(tmp_path: Path) -> None:
    one, two = (f"journal:///{tmp_path / n}.log" for n in ("one", "two"))
    assert main([*replay(one, "w", "--seeds", "0-1"), "--n-trials", "6"]) == 0
    assert main([*replay(two, "w", "--seeds", "0-1"), "--n-trials", "6", "--workers", "2"]) == 0
    a, b = studies(one, "w"), studies(two, "w")
    assert sorted(a) == sorted(b)
    for name in a:
        assert [t.params for t in a[name].trials] == [t.params for t in b[name].trials]
        assert [t.value for t in a[name].trials] == [t.value for t in b[name].trials]


def test_a_replayed_hyperband_study_is_the_same_every_run(tmp_path: Path) -> None:
    """Hyperband puts a trial in a bracket by a hash of the study's name and trial number: the
    in-memory twin a replay runs on must carry the study's name, or every run (and every
    process) would bracket, prune and model the trials differently."""
    one, two = (f"journal:///{tmp_path / n}.log" for n in ("one", "two"))
    for url in (one, two):
        args = [*replay(url, "hb", "--seeds", "0"), "--n-trials", "30"]
        assert main([*args, "--methods", "tpe_hyperband", "--workers", "1"]) == 0
    (a,), (b,) = studies(one, "hb").values(), studies(two, "hb").values()
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.intermediate_values for t in a.trials] == [t.intermediate_values for t in b.trials]


def test_time_to_target_is_a_compare_metric(journal_url: str) -> None:
    args = replay(journal_url, "ttt", "--seeds", "0", "--samplers", "random", "--n-trials", "8")
    assert main([*args, "--metric", "time_to_acc:0.97", "--cap", "20ep"]) == 0
    (study,) = studies(journal_url, "ttt").values()
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    done = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert done and all(0 < t.value <= 20 for t in done)
    for t in done:  # stopped as soon as the target was reached, or at the cap
        assert t.value == t.user_attrs["epochs"]
        assert t.user_attrs["reached_target"] or t.value == 20


def test_the_grid_is_sized_to_the_budget() -> None:
    space = load_space(REPLAY_SPACE)  # 7 optimizers × lr
    sized = budget_grid(space, 50)
    assert sized.grid_points == 7 and sized.grid_size() == 49
    default = budget_grid(load_space(PROJECT_ROOT / "conf/spaces/default.yaml"), 30)
    # 6 optimizers × 6 dropout steps × p² (lr, batch size): p = 2 gives 144, the nearest.
    assert default.grid_points == 2
    assert trials_equivalent(Budget(300, "epochs"), 15) == 20


def test_budget_and_seed_parsing() -> None:
    assert parse_seeds("0-2,7") == [0, 1, 2, 7]
    assert parse_budget("epochs:300", 30) == Budget(300, "epochs")
    assert parse_budget(None, 30) == Budget(30, "trials")
    for bad in ("0-", "a", "1,1"):
        with pytest.raises(UsageError):
            parse_seeds(bad)
    for bad in ("hours:3", "epochs:-1", "epochs"):
        with pytest.raises(UsageError):
            parse_budget(bad, 30)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seeds", "x"], "--seeds"),
        (["--budget", "weeks:2"], "--budget"),
        (["--samplers", "grid,nope"], "unknown method 'nope'"),
        (["--metric", "time_to_acc:0.97"], "--cap"),
        (["--max-epochs", "50"], "exceeds the table"),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    result = run_cli("hpo.compare", *replay(url, "bad"), *flags, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / "s.db").exists()


def test_lr_find_baseline_pays_its_range_tests_from_the_budget(
    space_file: Path, sqlite_url: str, one_torch_thread: None
) -> None:
    args = ["--experiment", "lrf", "--methods", "lr_find", "--seeds", "0"]
    args += ["--budget", "epochs:14", "--max-epochs", "2", "--space", str(space_file)]
    args += ["--storage", sqlite_url, "--pruner", "none"]
    assert main(args) == 0
    (study,) = studies(sqlite_url, "lrf").values()
    found = study.user_attrs["lr_find"]
    assert set(found["lr_by_optimizer"]) == {"adam", "momentum"}  # one range test each
    assert all(1e-3 <= lr <= 1e-1 for lr in found["lr_by_optimizer"].values())
    trials = study.get_trials(states=COUNTED)
    for t in trials:  # every trial trains at its optimizer's suggested rate
        assert t.params["lr"] == found["lr_by_optimizer"][t.params["optimizer"]]
    trained = sum(t.user_attrs["epochs"] for t in trials)
    assert found["epochs"] > 0 and trained + found["epochs"] < 14 + 2  # one trial may overrun
    assert trained < 14  # the range tests' epochs were taken out of the budget
