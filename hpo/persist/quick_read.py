"""A study's counts, identity and best trial read straight from a SQLite file, read-only.

    digest = read_sqlite_study(Path("studies/hpo.db"), "digits-mnist_cnn-tpe")   # or None

For "this study is already done": opening the file through Optuna costs a second of imports
(SQLAlchemy, alembic) before a single row is read; Python's own sqlite3, opened with
`mode=ro`, reads the same rows in milliseconds and cannot change a byte. It reads Optuna's table
layout (written by hand: Optuna has no read-only reader); anything unexpected — another schema,
a locked or missing file, several objectives — returns None, and the caller reads the study
through Optuna instead.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

COUNTED = ("COMPLETE", "PRUNED")


@dataclass(frozen=True)
class BestTrial:
    number: int
    value: float
    params: dict[str, Any]
    user_attrs: dict[str, Any]


@dataclass(frozen=True)
class StudyDigest:
    name: str
    direction: str  # "MAXIMIZE" or "MINIMIZE"
    counts: dict[str, int]  # trial state name → trials
    user_attrs: dict[str, Any] = field(default_factory=dict)
    best: BestTrial | None = None

    @property
    def counted(self) -> int:
        return sum(self.counts.get(state, 0) for state in COUNTED)


def read_sqlite_study(path: Path, study_name: str) -> StudyDigest | None:
    """The study's digest, or None if it cannot be read this way (see the module docstring)."""
    try:
        with _read_only(path) as db:
            return _digest(db, study_name)
    except (sqlite3.Error, ValueError, KeyError, TypeError):
        return None


def sqlite_study_names(path: Path) -> set[str] | None:
    """The names of the studies in an Optuna SQLite file, read-only; None if it cannot be read
    this way (as `read_sqlite_study`)."""
    try:
        with _read_only(path) as db:
            return {name for (name,) in db.execute("SELECT study_name FROM studies")}
    except sqlite3.Error:
        return None


def _read_only(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """A connection that cannot change a byte of the file (`mode=ro`), closed on leaving."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5))


def _digest(db: sqlite3.Connection, study_name: str) -> StudyDigest | None:
    row = db.execute("SELECT study_id FROM studies WHERE study_name = ?", (study_name,)).fetchone()
    if row is None:
        return None
    study_id = row[0]
    directions = db.execute(
        "SELECT direction FROM study_directions WHERE study_id = ?", (study_id,)
    ).fetchall()
    if len(directions) != 1:
        return None
    counts = dict(
        db.execute(
            "SELECT state, COUNT(*) FROM trials WHERE study_id = ? GROUP BY state", (study_id,)
        ).fetchall()
    )
    attrs = _attrs(db, "study_user_attributes", "study_id", study_id)
    direction = directions[0][0]
    return StudyDigest(study_name, direction, counts, attrs, _best(db, study_id, direction))


def _attrs(db: sqlite3.Connection, table: str, key_column: str, key: int) -> dict[str, Any]:
    rows = db.execute(f"SELECT key, value_json FROM {table} WHERE {key_column} = ?", (key,))
    return {name: json.loads(value) for name, value in rows}


def _best(db: sqlite3.Connection, study_id: int, direction: str) -> BestTrial | None:
    order = "DESC" if direction == "MAXIMIZE" else "ASC"
    row = db.execute(
        "SELECT t.trial_id, t.number, v.value, v.value_type FROM trials t "
        "JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0 "
        "WHERE t.study_id = ? AND t.state = 'COMPLETE' AND v.value_type = 'FINITE' "
        f"ORDER BY v.value {order}, t.number ASC LIMIT 1",
        (study_id,),
    ).fetchone()
    if row is None:
        return None
    trial_id, number, value, _ = row
    params = {
        name: _external(value, json.loads(distribution))
        for name, value, distribution in db.execute(
            "SELECT param_name, param_value, distribution_json FROM trial_params "
            "WHERE trial_id = ? ORDER BY param_id",
            (trial_id,),
        )
    }
    attrs = _attrs(db, "trial_user_attributes", "trial_id", trial_id)
    return BestTrial(number, float(value) if value is not None else math.nan, params, attrs)


def _external(internal: float, distribution: dict[str, Any]) -> Any:
    """A stored parameter value as the trial saw it (Optuna stores a categorical's index)."""
    kind, attributes = distribution["name"], distribution["attributes"]
    if kind == "CategoricalDistribution":
        return attributes["choices"][int(internal)]
    if kind == "IntDistribution":
        return int(internal)
    if kind == "FloatDistribution":
        return float(internal)
    raise ValueError(f"unknown distribution {kind}")
