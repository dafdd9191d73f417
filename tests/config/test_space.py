import math
from pathlib import Path

import optuna
import pytest

from hpo.config.run import PROJECT_ROOT
from hpo.config.space import load_space, parse_space
from hpo.errors import UsageError
from hpo.train.routing import check_names, route


def space(**params):
    return parse_space({"params": params})


def test_default_space_file_parses_and_matches_the_documented_format():
    s = load_space(PROJECT_ROOT / "conf/spaces/default.yaml")
    assert {"lr", "optimizer", "batch_size", "dropout"} <= set(s.params)
    assert s.params["lr"].log and s.fixed["weight_decay"] == 0.0


def test_grid_values_per_kind():
    s = space(
        lr={"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        dropout={"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        bs={"type": "int", "low": 16, "high": 128, "log": True},
        opt={"type": "categorical", "choices": ["sgd", "adam"]},
        wd={"type": "float", "low": 0, "high": 1, "grid": [0.0, 0.5]},
    )
    grid = s.grid()
    assert grid["lr"] == pytest.approx([1e-4, 10**-3.25, 10**-2.5, 10**-1.75, 1e-1])
    assert grid["dropout"] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert grid["bs"] == [16, 27, 45, 76, 128]
    assert grid["opt"] == ["sgd", "adam"] and grid["wd"] == [0.0, 0.5]
    assert s.grid_size() == 5 * 6 * 5 * 2 * 2
    assert len(s.grid(points=3)["lr"]) == 3


def test_yaml_numbers_without_a_dot_are_accepted():
    s = parse_space({"params": {"lr": {"type": "float", "low": "1e-5", "high": "1e-1"}}})
    assert s.params["lr"].low == 1e-5


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "float", "low": 1.0, "high": 0.1}, r"low \(1\) must be less than high \(0.1\)"),
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "log: true needs low > 0"),
        ({"type": "categorical", "choices": []}, "non-empty list"),
        ({"type": "categorical", "choices": ["a", "a"]}, "duplicates"),
        ({"type": "uniform", "low": 0, "high": 1}, "unknown type 'uniform'"),
        ({"type": "float", "low": 0, "high": 1, "lg": True}, r"unknown key\(s\) \['lg'\]"),
        ({"type": "int", "low": 1.5, "high": 4}, "whole-number"),
        ({"type": "float", "low": 0, "high": 1, "grid": [2.0]}, "outside"),
        ({"type": "float", "high": 1}, "missing 'low'"),
    ],
)
def test_bad_parameters_are_one_line_errors_naming_the_parameter(spec, message):
    with pytest.raises(UsageError, match=message) as err:
        space(x=spec)
    assert "params.x" in str(err.value) and "\n" not in str(err.value)


def test_malformed_yaml_names_the_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("params:\n  lr: {type: float, low: 1\n")
    with pytest.raises(UsageError, match=r"bad.yaml: malformed YAML at line \d"):
        load_space(bad)
    with pytest.raises(UsageError, match="not found"):
        load_space(tmp_path / "missing.yaml")


def test_suggest_samples_inside_the_declared_ranges():
    s = space(
        lr={"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        bs={"type": "int", "low": 16, "high": 128, "step": 16},
        opt={"type": "categorical", "choices": ["sgd", "adam"]},
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        params = s.suggest(study.ask())
        assert 1e-4 <= params["lr"] <= 1e-1 and params["bs"] % 16 == 0
        assert params["opt"] in ("sgd", "adam")
    lrs = [t.params["lr"] for t in study.trials]
    assert min(lrs) < 1e-3  # log-uniform: small values are common
    distribution = study.trials[0].distributions["lr"]
    assert isinstance(distribution, optuna.distributions.FloatDistribution) and distribution.log


def test_grid_sampler_walks_exactly_the_grid():
    s = space(
        lr={"type": "float", "low": 1e-3, "high": 1e-1, "log": True, "grid": [1e-3, 1e-1]},
        opt={"type": "categorical", "choices": ["sgd", "adam", "adagrad"]},
    )
    study = optuna.create_study(sampler=optuna.samplers.GridSampler(s.grid(), seed=0))
    study.optimize(lambda t: math.log(s.suggest(t)["lr"]), n_trials=10)
    seen = {(t.params["lr"], t.params["opt"]) for t in study.trials}
    assert len(study.trials) == 6 and len(seen) == 6


def test_routing_sends_each_name_to_its_consumer_and_rejects_unknown_ones():
    routed = route({"lr": 0.1, "width": 2, "batch_size": 32}, "mnist_cnn", "digits")
    assert routed.model == {"width": 2}
    assert routed.data == {"batch_size": 32}
    assert routed.module == {"lr": 0.1}
    with pytest.raises(UsageError, match=r"unknown hyperparameter\(s\) \['lern_rate'\]"):
        check_names(["lern_rate"], "mnist_cnn", "digits")
