"""`--help`, `--list`, every unknown name or bad value, and "already done" are answered without
importing torch or Lightning (the answer a misspelled flag gets is instant, not 10 s late)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hpo.testing.helpers import TINY_SPACE, cli_env, write_space

PROBE = """
import json, sys
from hpo.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "lightning", "torchvision") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def probe(args: list[str], cwd: Path) -> tuple[int, list[str], str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    *lines, last = result.stderr.strip().splitlines()
    report = json.loads(last)
    return report["code"], report["heavy"], "\n".join(lines)


def space_with(tmp_path: Path, name: str, **params: object) -> str:
    space = yaml.safe_load(yaml.safe_dump(TINY_SPACE))
    space["params"].update(params)
    return str(write_space(tmp_path, space, f"{name}.yaml"))


@pytest.mark.parametrize(
    "args, code, said",
    [
        (["--help"], 0, ""),
        (["study", "--help"], 0, ""),
        (["study", "--list"], 0, ""),
        (["study", "--list-presets"], 0, ""),
        (["compare", "--help"], 0, ""),
        (["study", "--sampler", "tpee"], 2, "did you mean 'tpe'?"),
        (["study", "--pruner", "mediun"], 2, "did you mean 'median'?"),
        (["study", "--model", "mnist_cn"], 2, "did you mean 'mnist_cnn'?"),
        (["study", "--dataset", "digit"], 2, "did you mean 'digits'?"),
        (["study", "--metric", "val_ac"], 2, "did you mean 'val_acc'?"),
        (["study", "--n-trials", "0"], 2, "--n-trials must be at least 1"),
        (["studdy"], 2, "did you mean 'study'?"),
    ],
)
def test_bad_names_and_listings_never_load_torch(tmp_path, args, code, said) -> None:
    got, heavy, err = probe(args, tmp_path)
    assert (got, heavy) == (code, [])
    assert said in err
    if code == 2:
        assert len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "param, message",
    [
        ({"optimizer": {"type": "categorical", "choices": ["adam", "adamm"]}}, "'adam'?"),
        ({"loss": {"type": "categorical", "choices": ["crossentropy"]}}, "'cross_entropy'?"),
        ({"lr_schedule": {"type": "categorical", "choices": ["cosin"]}}, "'cosine'?"),
        ({"weight_decy": {"type": "float", "low": 0.1, "high": 1.0}}, "'weight_decay'?"),
        ({"finetune_layers": {"type": "categorical", "choices": ["last_blok"]}}, "'last_block'?"),
        ({"rotation": {"type": "float", "low": -10, "high": 10}}, "rotation must be 0 or more"),
        ({"scale": {"type": "float", "low": 0.0, "high": 1.5}}, "scale must be at least 0"),
        ({"batch_size": {"type": "int", "low": 0, "high": 64}}, "batch_size must be a whole"),
        ({"dropout": {"type": "categorical", "choices": [0.1, 2]}}, "dropout must be between"),
        ({"flip": {"type": "categorical", "choices": [True, "sometimes"]}}, "flip takes true"),
        ({"lr": {"type": "float", "low": 0.0, "high": 1.0}}, "lr must be a positive"),
    ],
)
def test_a_bad_choice_in_a_space_file_never_loads_torch(tmp_path, param, message) -> None:
    space = yaml.safe_load(yaml.safe_dump(TINY_SPACE))
    space["params"].update(param)
    model = "resnet18" if "finetune_layers" in param else "mnist_cnn"
    space["fixed"] = {k: v for k, v in space["fixed"].items() if k not in param}
    if model == "resnet18":
        space["fixed"].pop("width")  # resnet has no `width`
    space = str(write_space(tmp_path, space, "bad.yaml"))
    args = ["study", "--space", space, "--storage", "sqlite:///x.db", "--model", model]
    got, heavy, err = probe(args, tmp_path)
    assert (got, heavy) == (2, []) and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    "fixed, message",
    [
        ({"pretrained": "imagenett"}, "(did you mean 'imagenet'?)"),
        ({"pretrained": "/nowhere/weights.pth"}, "does not exist"),
        ({"finetune_epochs": 9}, "finetune_epochs must be a whole number from 0 to 5"),
        ({"head_dim": 0}, "head_dim must be a whole number"),
    ],
)
def test_a_bad_fixed_value_never_loads_torch(tmp_path, fixed, message) -> None:
    space = yaml.safe_load(yaml.safe_dump(TINY_SPACE))
    space["fixed"] = fixed
    path = write_space(tmp_path, space, "bad.yaml")
    args = ["study", "--model", "resnet18", "--dataset", "digits", "--space", str(path)]
    got, heavy, err = probe([*args, "--storage", "sqlite:///x.db"], tmp_path)
    assert (got, heavy) == (2, []) and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


def test_already_done_is_said_without_loading_torch(small_study) -> None:
    args = ["study", "--n-trials", str(small_study.n_trials), "--max-epochs", "2"]
    args += ["--pruner", "none", "--space", str(small_study.directory / "space.yaml")]
    args += ["--storage", small_study.url, "--study-name", small_study.name]
    got, heavy, _ = probe(args, small_study.directory)
    assert (got, heavy) == (0, [])
