"""The read-only SQLite digest equals what Optuna reads, changes no byte, and gives up (None)
whenever it cannot be sure."""

from __future__ import annotations

from collections import Counter

import optuna

from hpo.persist.quick_read import read_sqlite_study, sqlite_study_names
from hpo.search.progress import summary
from hpo.search.summary import summary_text
from hpo.testing.helpers import file_digest


def test_digest_equals_optunas_reading_and_changes_nothing(small_study) -> None:
    before = file_digest(small_study.db)
    digest = read_sqlite_study(small_study.db, small_study.name)
    study = small_study.load()
    assert digest is not None
    assert digest.counts == dict(Counter(t.state.name for t in study.trials))
    assert digest.user_attrs == study.user_attrs
    assert digest.direction == study.direction.name
    best = study.best_trial
    assert (digest.best.number, digest.best.value) == (best.number, best.value)
    assert digest.best.params == best.params and digest.best.user_attrs == best.user_attrs
    text = summary_text(digest.name, digest.counts, "val_acc", digest.best)
    assert text == summary(study, "val_acc")
    assert file_digest(small_study.db) == before


def test_anything_unexpected_is_none(small_study, tmp_path) -> None:
    assert read_sqlite_study(small_study.db, "no-such-study") is None
    assert read_sqlite_study(tmp_path / "missing.db", small_study.name) is None
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"not a database" * 100)
    assert read_sqlite_study(corrupt, small_study.name) is None
    assert not (tmp_path / "missing.db").exists()
    assert sqlite_study_names(corrupt) is None
    assert sqlite_study_names(tmp_path / "missing.db") is None


def test_study_names_are_optunas_and_reading_them_changes_nothing(small_study) -> None:
    before = file_digest(small_study.db)
    assert sqlite_study_names(small_study.db) == set(optuna.get_all_study_names(small_study.url))
    assert file_digest(small_study.db) == before
