"""Fuzzed storage URLs: every URL is accepted or refused with one UsageError line, the helpers
that read URLs never raise, and checking a URL creates nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpo.errors import UsageError
from hpo.persist.urls import (
    absolute_url,
    check_existing_storage,
    check_storage_url,
    default_checkpoint_root,
    file_path,
    redact,
    redis_prefix,
    scheme_of,
)

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PIECES = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["[", "]", "[::1]", "@", ":", "::", "?", "#", "%", "%zz", "\x00", "\n", "/", "..", "~",
     "x" * 300, "pass:w@rd", "prefix=a", "mode=ro&uri=true", "password=s3cret", ":memory:"]
)  # fmt: skip
SCHEMES = st.sampled_from(
    ["sqlite", "postgresql", "postgresql+psycopg2", "mysql+pymysql", "journal", "redis",
     "rediss", "SQLite", "mongodb", "file", "", "sqlite3", "journal+x"]
)  # fmt: skip
URLS = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda scheme, slashes, parts: f"{scheme}:{slashes}{''.join(parts)}",
        SCHEMES,
        st.sampled_from(["//", "///", "////", "/", ""]),
        st.lists(PIECES, max_size=5),
    ),
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty working directory for relative paths; it must stay empty."""
    directory = tmp_path_factory.mktemp("fuzz_urls")
    before = os.getcwd()
    os.chdir(directory)
    yield directory
    os.chdir(before)


def assert_one_line(exc: UsageError) -> None:
    message = str(exc)
    assert message and "\n" not in message and "\r" not in message, message


@FUZZ
@given(URLS)
def test_any_url_is_accepted_or_one_usage_line_and_creates_nothing(
    workdir: Path, url: str
) -> None:
    for check in (check_storage_url, check_existing_storage):
        try:
            check(url)
        except UsageError as exc:
            assert_one_line(exc)
    assert not any(workdir.iterdir())


@FUZZ
@given(URLS)
def test_the_url_helpers_never_raise(workdir: Path, url: str) -> None:
    scheme_of(url)
    file_path(url)
    absolute_url(url)
    redis_prefix(url)
    default_checkpoint_root(url)
    assert "Zq9x" not in redact(f"{url} postgresql://u:Zq9x@h/db")
