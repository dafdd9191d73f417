"""Fuzzed search spaces: any YAML text or parsed structure is either a space every sampler can
use, or one UsageError line; never another exception."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpo.config.space import load_space, parse_space
from hpo.errors import UsageError

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NUMBERS = st.one_of(
    st.integers(-5, 100),
    st.integers(min_value=10**308, max_value=10**320),  # beyond a float
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e-5", "0.1", "nan", "inf", "-inf", "1e999", "ten", ""]),
    st.booleans(),
    st.none(),
)
SCALARS = st.one_of(NUMBERS, st.text(max_size=8))
ANY = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SCALARS, inner, max_size=3),
    max_leaves=8,
)
KEYS = ("type", "low", "high", "log", "step", "grid", "choices", "choice", "lo")
TYPES = st.sampled_from(["float", "int", "categorical", "Float", "cat"]) | SCALARS
PARAM = st.one_of(
    st.fixed_dictionaries(
        {"type": TYPES},
        optional={
            "low": NUMBERS,
            "high": NUMBERS,
            "log": NUMBERS | st.sampled_from(["yes", "no"]),
            "step": NUMBERS,
            "grid": st.lists(NUMBERS, max_size=4) | ANY,
            "choices": st.lists(SCALARS, max_size=4) | ANY,
        },
    ),
    st.dictionaries(st.sampled_from(KEYS) | SCALARS, ANY, max_size=4),
    ANY,
)
NAMES = st.sampled_from(["lr", "dropout", "optimizer", "batch_size"]) | SCALARS
SPACE = st.one_of(
    st.fixed_dictionaries(
        {"params": st.dictionaries(NAMES, PARAM, max_size=3)},
        optional={
            "fixed": st.dictionaries(NAMES, SCALARS, max_size=3) | ANY,
            "grid_points": NUMBERS,
            "param": ANY,
            "grid_point": ANY,
        },
    ),
    st.dictionaries(st.sampled_from(["params", "fixed", "grid_points"]) | SCALARS, ANY),
    ANY,
)


def assert_one_line(exc: UsageError) -> None:
    message = str(exc)
    assert message and "\n" not in message and "\r" not in message, message


def assert_usable(space) -> None:
    """An accepted space: every searched parameter can be sampled, its grid walked, and its
    plain-data form (stored on the study) read back the same."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    params = space.suggest(trial)
    assert set(params) == set(space.names())
    stepped = [p for p in space.params.values() if getattr(p, "step", None)]
    if all((p.high - p.low) / p.step <= 10_000 for p in stepped):  # (a fine step's grid is big)
        assert all(space.grid(points=3).values())
    assert repr(parse_space(space.to_dict()).to_dict()) == repr(space.to_dict())


@FUZZ
@given(SPACE)
def test_any_parsed_structure_is_a_usable_space_or_one_usage_line(data: object) -> None:
    try:
        space = parse_space(data, source="fuzz.yaml")
    except UsageError as exc:
        assert_one_line(exc)
        return
    assert_usable(space)


YAML_TEXT = st.one_of(
    SPACE.map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.text(max_size=60),
    st.sampled_from(
        [
            "params: {lr: {type: float, low: 2001-02-30, high: 1}}",  # a date that is not one
            "params: {lr: {type: float, low: 1, high: 2}}\n\x00",
            "params: !!python/object:os.system {}",
            "params: &a [*a]",
            "params:\n  lr: {type: float, low: 1\n",
        ]
    ),
)


@pytest.fixture(scope="module")
def space_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz_space") / "space.yaml"


@FUZZ
@given(text=YAML_TEXT, encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_any_file_is_a_usable_space_or_one_usage_line(
    space_path: Path, text: str, encoding: str
) -> None:
    try:
        space_path.write_bytes(text.encode(encoding, errors="replace"))
    except UnicodeEncodeError:
        return
    try:
        space = load_space(space_path)
    except UsageError as exc:
        assert_one_line(exc)
        return
    assert_usable(space)
