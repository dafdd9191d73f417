"""Space-filling designs: the corners, then Sobol points that cover each axis evenly."""

from __future__ import annotations

import math

import numpy as np

from hpo.bench.design import corners, design, from_unit, sobol
from hpo.config.space import load_space, parse_space
from hpo.testing.helpers import ROOT

SPACE = parse_space(
    {
        "params": {
            "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
            "optimizer": {"type": "categorical", "choices": ["adam", "sgd", "rmsprop"]},
            "width": {"type": "int", "low": 1, "high": 4},
        },
        "fixed": {"batch_size": 32},
    }
)


def test_corners_are_every_choice_at_both_ends_of_every_axis() -> None:
    found = corners(SPACE)
    assert len(found) == 2 * 3 * 2
    assert {(c["lr"], c["width"]) for c in found} == {(1e-4, 1), (1e-4, 4), (1.0, 1), (1.0, 4)}
    assert all(c["batch_size"] == 32 for c in found)


def test_sobol_points_stay_in_range_and_fill_each_axis_evenly() -> None:
    points = sobol(SPACE, 256, seed=3)
    assert len(points) == 256
    lrs = np.log10([p["lr"] for p in points])
    assert lrs.min() >= -4 and lrs.max() <= 0
    # Sobol balance: each of the 4 decades holds exactly a quarter of the 256 points.
    assert np.histogram(lrs, bins=4, range=(-4, 0))[0].tolist() == [64, 64, 64, 64]
    assert {p["optimizer"] for p in points} == {"adam", "sgd", "rmsprop"}
    assert sorted({p["width"] for p in points}) == [1, 2, 3, 4]
    assert all(isinstance(p["width"], int) for p in points)


def test_the_design_is_corners_then_a_seeded_sequence() -> None:
    one, two = design(SPACE, 8, seed=0), design(SPACE, 8, seed=0)
    assert one == two and one[:12] == corners(SPACE) and len(one) == 12 + 8
    assert design(SPACE, 8, seed=1)[12:] != one[12:]


def test_a_design_of_any_size_is_a_prefix_of_a_larger_one() -> None:
    twelve, sixteen = design(SPACE, 12, seed=0), design(SPACE, 16, seed=0)
    assert len(twelve) == 12 + 12 and twelve == sixteen[:24]
    assert sobol(SPACE, 8, seed=0) == sobol(SPACE, 16, seed=0)[:8]  # a build grows, never moves


def test_from_unit_maps_quantiles_of_the_prior() -> None:
    lr = SPACE.params["lr"]
    assert from_unit(lr, 0.0) == 1e-4
    assert math.isclose(from_unit(lr, 0.5), 1e-2, rel_tol=1e-5)  # log scale: the mid decade
    assert [from_unit(SPACE.params["optimizer"], u) for u in (0.0, 0.4, 0.99)] == [
        "adam",
        "sgd",
        "rmsprop",
    ]
    assert from_unit(SPACE.params["width"], 0.999) == 4


def test_the_shipped_5d_space_has_seed_003s_optimizers() -> None:
    space = load_space(ROOT / "conf/spaces/digits_5d.yaml")
    assert set(space.params) == {"lr", "optimizer", "batch_size", "dropout", "width"}
    assert set(space.params["optimizer"].choices) == {
        "sgd", "adam", "adagrad", "adadelta", "rmsprop", "momentum"
    }  # fmt: skip
    assert len(corners(space)) == 6 * 2**4
