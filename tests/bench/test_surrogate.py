"""Surrogate tables from real fits: the resumable sharded build, the curves it answers, the
replay through `hpo compare`, and the packed fidelity."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from hpo.bench.design import design, sobol
from hpo.bench.fidelity import holdout, pack
from hpo.bench.fit_log import read_fits, run_shard
from hpo.bench.replay import COLUMNS
from hpo.bench.surrogate import (
    MODELS,
    SurrogateTable,
    describe_model,
    encode,
    save_surrogate,
    target,
)
from hpo.bench.tables import describe_table, open_table
from hpo.cli import run_command
from hpo.compare import main as compare
from hpo.config.run import RunConfig
from hpo.config.space import parse_space
from hpo.persist.storages import open_storage
from hpo.testing.helpers import cli_env
from hpo.train.divergence import divergence_threshold

SPACE = {
    "params": {
        "lr": {"type": "float", "low": 1e-3, "high": 1.0, "log": True},
        "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
        "width": {"type": "int", "low": 1, "high": 2},
    },
    "fixed": {"batch_size": 128},
}
EPOCHS = 2


@pytest.fixture(scope="module")
def fits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four real 2-epoch fits of the design, two per shard."""
    folder = tmp_path_factory.mktemp("fits")
    configs = design(parse_space(SPACE), 4)
    config = RunConfig(max_epochs=EPOCHS, threads=1)
    assert run_shard(configs, folder, config, shard=0, shards=2, limit=2) == 2
    assert run_shard(configs, folder, config, shard=1, shards=2, limit=2) == 2
    return folder


@pytest.fixture(scope="module")
def table_file(fits_dir: Path) -> Path:
    meta = {"max_epochs": EPOCHS, "num_classes": 10, "model": "extra_trees"}
    path = fits_dir / "tiny.json.gz"
    save_surrogate(path, SurrogateTable(parse_space(SPACE), read_fits(fits_dir), meta))
    return path


def test_shards_split_the_design_and_a_restart_skips_what_is_done(fits_dir: Path) -> None:
    fits = read_fits(fits_dir)
    assert sorted(f["index"] for f in fits) == [0, 1, 2, 3]  # 0, 2 from shard 0; 1, 3 from 1
    assert all(len(f["curve"]) == EPOCHS and f["stop"] == "completed" for f in fits)
    assert all(set(COLUMNS) <= set(f["curve"][-1]) for f in fits)
    configs = design(parse_space(SPACE), 4)
    assert [f["params"] for f in sorted(fits, key=lambda f: f["index"])] == configs[:4]
    again = fits_dir / "again"
    again.mkdir()
    (again / "fits-0.jsonl").write_text((fits_dir / "fits-0.jsonl").read_text() + '{"torn')
    assert run_shard(configs, again, RunConfig(max_epochs=1), shard=0, shards=2, limit=1) == 1
    assert sorted(f["index"] for f in read_fits(again)) == [0, 2, 4]  # the torn line skipped


def test_the_sample_command_prints_one_line_per_fit(tmp_path: Path) -> None:
    """`hpo replay sample` in a fresh process: its progress lines, not Lightning's notices."""
    space = tmp_path / "space.yaml"
    space.write_text(json.dumps(SPACE))  # (JSON is YAML)
    fits = tmp_path / "fits"
    args = ["--space", str(space), "--fits", str(fits), "--n", "4", "--limit", "2"]
    proc = subprocess.run(
        [sys.executable, "-m", "hpo", "replay", "sample", *args, "--max-epochs", "1"],
        env=cli_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["[0/1]", "#0"], ["[0/1]", "#1"]], lines
    assert lines[2:] == [f"2 fits written to {fits}/fits-0.jsonl"]


def test_a_table_grows_by_unpacking_its_fits_and_sampling_a_larger_design(
    fits_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`unpack` writes a table's fits back with their design indexes (a fit left out of the
    table stays left out, the others keep their places), so `sample` fits only what is new."""
    fits = sorted(read_fits(fits_dir), key=lambda f: f["index"])
    table = tmp_path / "gappy.json.gz"
    kept = [fits[0], fits[2], fits[3]]  # design point 1 failed, say
    save_surrogate(table, SurrogateTable(parse_space(SPACE), kept, {"max_epochs": EPOCHS}))
    grown = tmp_path / "grown"
    assert run_command("replay", ["unpack", "--table", str(table), "--fits", str(grown)]) == 0
    assert f"3 fits of {table} written to {grown}/fits-table.jsonl" in capsys.readouterr().out
    unpacked = read_fits(grown)
    assert [f["index"] for f in unpacked] == [0, 2, 3]
    assert [f["params"] for f in unpacked] == [f["params"] for f in kept]
    assert unpacked[1]["curve"][-1]["val_acc"] == pytest.approx(
        kept[1]["curve"][-1]["val_acc"], abs=1e-5
    )
    configs = design(parse_space(SPACE), 4)
    assert run_shard(configs, grown, RunConfig(max_epochs=1), limit=2) == 2
    assert sorted(f["index"] for f in read_fits(grown)) == [0, 1, 2, 3, 4]
    again = ["unpack", "--table", str(table), "--fits", str(grown)]
    assert run_command("replay", again) == 2  # never appends the same fits twice
    assert "exists already" in capsys.readouterr().err


def test_unpack_refuses_a_missing_table_or_one_without_fits_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fits = tmp_path / "fits"
    missing = ["unpack", "--table", str(tmp_path / "nope.json.gz"), "--fits", str(fits)]
    assert run_command("replay", missing) == 2
    assert "nope.json.gz not found" in capsys.readouterr().err
    lr_table = ["unpack", "--table", "hpo/tables/digits_mnist_cnn.json.gz", "--fits", str(fits)]
    assert run_command("replay", lr_table) == 2
    assert "has no fits" in capsys.readouterr().err
    assert not fits.exists()


def test_the_table_answers_any_point_with_averages_of_real_curves(table_file: Path) -> None:
    table = open_table(str(table_file))
    assert isinstance(table, SurrogateTable) and table.max_epochs == EPOCHS
    real = table.targets()
    for params in sobol(table.space, 8, seed=1):
        rows = table.curve(params)
        assert len(rows) == EPOCHS and set(rows[0]) == set(COLUMNS)
        predicted = np.array([[r[k] for k in COLUMNS] for r in rows]).ravel()
        # A forest averages training curves: every value lies within the real ones.
        assert np.all(predicted >= real.min(axis=0) - 1e-9)
        assert np.all(predicted <= real.max(axis=0) + 1e-9)


def test_the_flat_forest_answers_exactly_as_scikit_learn(table_file: Path) -> None:
    table = open_table(str(table_file))
    configs = sobol(table.space, 16, seed=2)
    answers = np.stack([[[r[k] for k in COLUMNS] for r in table.curve(p)] for p in configs])
    points = np.stack([encode(table.space, p) for p in configs])
    assert np.allclose(answers.reshape(len(configs), -1), table.model.predict(points))


def test_a_diverged_fit_keeps_diverging_in_its_target() -> None:
    curve = [
        {"val_acc": 0.5, "val_loss": 1.0, "train_acc": 0.5, "train_loss": 1.0, "elapsed_s": 1.0},
        {"val_acc": 0.1, "val_loss": None, "train_acc": 0.1, "train_loss": 1e9, "elapsed_s": 2.0},
    ]
    rows = target(curve, 4, 10).reshape(4, len(COLUMNS))
    loss = COLUMNS.index("val_loss")
    assert rows[0, loss] == 1.0
    assert np.all(rows[1:, loss] == 2 * divergence_threshold(10))
    assert rows[:, COLUMNS.index("elapsed_s")].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_compare_replays_the_table_epoch_by_epoch(table_file: Path, tmp_path: Path) -> None:
    url = f"journal:///{tmp_path / 'c.log'}"
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))  # YAML reads JSON
    args = ["--experiment", "s", "--objective", f"table:{table_file}", "--space", str(space)]
    args += ["--storage", url, "--max-epochs", str(EPOCHS), "--seeds", "0-1", "--n-trials", "6"]
    args += ["--methods", "random,tpe_hyperband", "--workers", "1"]
    args += ["--pruner-startup", "1", "--pruner-warmup", "0"]
    assert compare(args) == 0
    table = open_table(str(table_file))
    storage = open_storage(url)
    names = optuna.get_all_study_names(storage)
    assert sorted(names) == [f"s/{m}/seed{k}" for m in ("random", "tpe_hyperband") for k in (0, 1)]
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        described = study.user_attrs["compare"]["table"]
        assert described["kind"] == "surrogate" and described["fits"] == 4
        trials = study.trials
        assert len(trials) == 6
        for t in trials:
            expected = [r["val_acc"] for r in table.curve(t.params | {"batch_size": 128})]
            reported = [t.intermediate_values[e] for e in sorted(t.intermediate_values)]
            assert reported == pytest.approx(expected[: len(reported)])


def test_a_space_the_table_cannot_answer_is_refused(
    table_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = json.loads(json.dumps(SPACE))
    wide["params"]["lr"]["high"] = 10.0
    space = tmp_path / "wide.json"
    space.write_text(json.dumps(wide))
    url = f"journal:///{tmp_path / 'w.log'}"
    args = ["--experiment", "w", "--objective", f"table:{table_file}", "--space", str(space)]
    assert compare([*args, "--storage", url, "--max-epochs", str(EPOCHS), "--seeds", "0"]) == 2
    assert "lr: [0.001, 10.0] reaches outside the table's range" in capsys.readouterr().err
    assert not (tmp_path / "w.log").exists()


def _synthetic_fits(n: int, seconds: Callable[[], float] = lambda: 1.0) -> list[dict]:
    """Curves from a known smooth function of the configuration (a valley in log lr); the
    epochs of a fit take `seconds()` each."""
    space = parse_space(SPACE)
    out = []
    for index, params in enumerate(design(space, n)):
        best = -2.0 if params["optimizer"] == "adam" else -0.7
        acc = 0.1 + 0.85 * math.exp(-((math.log10(params["lr"]) - best) ** 2))
        pace = seconds()
        curve = [
            {"val_acc": acc * (e + 1) / 3, "val_loss": 2 - acc, "train_acc": acc,
             "train_loss": 2 - acc, "elapsed_s": pace * (e + 1)}
            for e in range(3)
        ]  # fmt: skip
        out.append({"index": index, "params": params, "curve": curve})
    return out


def test_pack_scores_held_out_fits_and_never_holds_out_a_corner() -> None:
    fits = _synthetic_fits(128)
    kept, held = holdout(fits, 0.15, seed=0, first=8)
    assert len(held) == round(0.15 * 128) and all(f["index"] >= 8 for f in held)
    assert len(kept) + len(held) == len(fits)
    table, fidelity = pack(fits, parse_space(SPACE), {"max_epochs": 3}, first=8)
    assert fidelity["model"] in fidelity["cross_validation"]
    assert fidelity["held_out"]["n"] == len(held)
    assert fidelity["held_out"]["final_val_acc_spearman"] > 0.9  # a smooth function is easy
    assert fidelity["held_out"]["final_val_acc_mae"] < 0.05
    assert table.fits == fits and table.meta["fidelity"] == fidelity
    _, only = pack(fits, parse_space(SPACE), {"max_epochs": 3}, first=8, models=["knn"])
    assert only["model"] == "knn" and list(only["cross_validation"]) == ["knn"]


def test_large_columns_unrelated_to_the_configuration_do_not_blur_the_accuracies() -> None:
    """Seconds measured on a loaded machine (here 0–1000 s an epoch, at random) outweigh the
    accuracies in a forest's squared error unless each column is scaled: unscaled, the
    held-out error of the final accuracy was 0.059 (Spearman 0.988); scaled, 0.015."""
    rng = np.random.default_rng(0)
    fits = _synthetic_fits(128, seconds=lambda: float(rng.uniform(0, 1000)))
    _, fidelity = pack(
        fits, parse_space(SPACE), {"max_epochs": 3}, first=8, models=["extra_trees"]
    )
    held = fidelity["held_out"]
    assert held["final_val_acc_mae"] < 0.03 and held["final_val_acc_spearman"] > 0.95


def test_a_report_names_the_models_fitted_on_scaled_columns(table_file: Path) -> None:
    scaled = {name for name in MODELS if "scaled" in describe_model(name)}
    assert scaled == {"extra_trees", "random_forest"}
    assert describe_table(str(table_file))["answers"] == (
        "scikit-learn extra_trees fitted on every fit, whole curves, each column scaled to "
        "unit variance"
    )
    assert "scaled" not in describe_model("knn")


def test_every_method_runs_on_a_surrogate_table(
    table_file: Path, tmp_path: Path, one_torch_thread: None
) -> None:
    """The nine methods of the 5-D comparison (cmaes when its package is installed)."""
    methods = ["random", "grid", "qmc", "tpe", "tpe_multivariate", "gp", "tpe_hyperband"]
    methods += ["lr_find"] + (["cmaes"] if importlib.util.find_spec("cmaes") else [])
    url = f"journal:///{tmp_path / 'm.log'}"
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))
    args = ["--experiment", "m", "--objective", f"table:{table_file}", "--space", str(space)]
    args += ["--storage", url, "--max-epochs", str(EPOCHS), "--seeds", "0", "--n-trials", "12"]
    assert compare([*args, "--methods", ",".join(methods), "--workers", "1"]) == 0
    storage = open_storage(url)
    for method in methods:
        study = optuna.load_study(study_name=f"m/{method}/seed0", storage=storage)
        counted = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
        # grid: its 8 points; lr_find: what its range tests (~22 epochs) left of 24 epochs
        assert (1 if method == "lr_find" else 8) <= len(counted) <= 12, method
        assert all(t.user_attrs.get("replayed") for t in counted), method
    lr_find = optuna.load_study(study_name="m/lr_find/seed0", storage=storage)
    found = lr_find.user_attrs["lr_find"]["lr_by_optimizer"]
    assert all(t.params["lr"] == found[t.params["optimizer"]] for t in lr_find.trials)


def test_pack_names_an_unknown_surrogate_model_before_reading_a_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["pack", "--space", "conf/spaces/digits_5d.yaml", "--fits", str(tmp_path / "none")]
    args += ["--out", str(tmp_path / "t.json.gz"), "--models", "extra_tree,knn"]
    assert run_command("replay", args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown surrogate model 'extra_tree'" in err[0]
    assert "did you mean 'extra_trees'" in err[0] and not (tmp_path / "t.json.gz").exists()
