"""Every preset: listed, and a 1-trial, 1-epoch, 2-batch smoke run on generated data."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

from hpo.config.presets import PRESET_DIR, load_preset, preset_names
from hpo.study import main
from hpo.testing.datagen import (
    write_cifar,
    write_image_folder,
    write_mnist_family,
    write_resnet_weights,
)
from hpo.testing.helpers import run_cli

PRESETS = [
    "fashion_mnist",
    "seed000_step_decay",
    "seed001_cifar100",
    "seed002_transfer",
    "seed003_optimizer_lr",
    "seed004_ethanet",
]
SMOKE = ["--n-trials", "1", "--max-epochs", "1", "--limit-batches", "2", "--quiet"]


def smoke(name: str, tmp_path: Path, *extra: str) -> optuna.Study:
    storage = f"sqlite:///{tmp_path / 'smoke.db'}"
    assert main(["--preset", name, "--storage", storage, *SMOKE, *extra]) == 0
    given = list(extra)
    study_name = (
        given[given.index("--study-name") + 1]
        if "--study-name" in given
        else load_preset(name).run["study_name"]
    )
    return optuna.load_study(study_name=study_name, storage=storage)


def completed_one(study: optuna.Study) -> optuna.trial.FrozenTrial:
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.COMPLETE, trial.user_attrs.get("stop_reason")
    return trial


def test_list_presets_one_line_each(capsys):
    assert main(["--list-presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert sorted(line.split()[0] for line in lines) == PRESETS == preset_names()
    assert all(len(line.split(maxsplit=1)[1]) > 20 for line in lines)


def test_fashion_mnist_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_mnist_family(tmp_path / "data" / "FashionMNIST" / "raw")
    trial = completed_one(smoke("fashion_mnist", tmp_path, "--data-dir", "data"))
    assert 0.0 <= trial.user_attrs["test_acc"] <= 1.0  # the preset evaluates on the test split


def test_seed000_step_decay_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_image_folder(tmp_path / "data" / "letters", classes=4, per_class=10, size=40)
    study = smoke("seed000_step_decay", tmp_path)  # its default --data-dir is data/letters
    lr = completed_one(study).params["lr"]
    assert any(lr == pytest.approx(10.0**-k) for k in range(1, 8))  # a point of the LR grid
    assert study.user_attrs["config"]["sampler"] == "grid"


def test_seed001_cifar100_preset_and_flags_override(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_cifar(tmp_path / "data", classes=100, per_batch=40)
    study = smoke("seed001_cifar100", tmp_path, "--sampler", "random", "--seed", "3")
    completed_one(study)
    config = study.user_attrs["config"]
    assert (config["sampler"], config["seed"], config["model"]) == ("random", 3, "cifar_cnn7")


def test_seed002_transfer_preset_with_cached_weights(tmp_path, monkeypatch):
    from torchvision.models import ResNet18_Weights

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    filename = ResNet18_Weights.DEFAULT.url.rsplit("/", 1)[-1]
    write_resnet_weights(tmp_path / "torch" / "hub" / "checkpoints" / filename)
    write_image_folder(tmp_path / "data" / "images", classes=3, per_class=12, size=32)
    trial = completed_one(smoke("seed002_transfer", tmp_path))
    assert trial.user_attrs["n_params"] < 600_000  # only the head trains (ResNet-18: 11.7M)


def test_seed003_optimizer_lr_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_mnist_family(tmp_path / "data" / "MNIST" / "raw")
    completed_one(smoke("seed003_optimizer_lr", tmp_path))


def test_preset_falls_back_to_digits_offline(tmp_path, monkeypatch, capsys, no_downloads):
    """seed003's mechanism: MNIST when present, else scikit-learn digits (with a note)."""
    preset = yaml.safe_load((PRESET_DIR / "seed003_optimizer_lr.yaml").read_text())
    path = tmp_path / "mnist_or_digits.yaml"
    path.write_text(yaml.safe_dump({**preset, "run": {**preset["run"], "study_name": "fb"}}))
    monkeypatch.chdir(tmp_path)
    study = smoke(str(path), tmp_path, "--data-dir", str(tmp_path / "empty"))
    assert "running preset mnist_or_digits on digits instead" in capsys.readouterr().err
    assert study.user_attrs["config"]["dataset"] == "digits"
    completed_one(study)
    write_mnist_family(tmp_path / "data" / "MNIST" / "raw")
    study = smoke(str(path), tmp_path, "--study-name", "fb2", "--data-dir", "data")
    assert study.user_attrs["config"]["dataset"] == "mnist"


def test_seed004_ethanet_preset_repeats_and_logs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_image_folder(
        tmp_path / "data" / "fruits-360", classes=3, per_class=8, size=100, split=True
    )
    trial = completed_one(smoke("seed004_ethanet", tmp_path))
    assert len(trial.user_attrs["repeat_values"]) == 2
    assert (
        tmp_path / "studies" / "seed004_ethanet" / "trial_0" / "seed_1" / "metrics.csv"
    ).exists()


def test_unknown_preset_is_a_one_line_error(tmp_path):
    result = run_cli("hpo.study", "--preset", "seed999", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "seed000_step_decay" in result.stderr


def test_missing_data_or_weights_fail_before_any_trial(
    tmp_path, monkeypatch, capsys, no_downloads
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # empty cache, download fails
    storage = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["--preset", "seed002_transfer", "--storage", storage]) == 2
    assert "image folder data/images does not exist" in capsys.readouterr().err
    write_image_folder(tmp_path / "data" / "images", classes=2, per_class=4)
    assert main(["--preset", "seed002_transfer", "--storage", storage]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no ImageNet weights for resnet18" in err
    assert not (tmp_path / "none.db").exists()
