"""A study's trials table as CSV or Parquet (`hpo export`, hpo.cli.export).

One row per trial (Optuna's `trials_dataframe`): number, state, value (the study's metric, named
in the study's `metric` attr), start/end times,
`duration_s`, `params_*`, `user_attrs_*`. Lists and dicts (the per-epoch `curve`) are JSON text,
so both formats hold exactly what the storage holds.
"""

from __future__ import annotations

import json
import sys

from hpo.errors import UsageError

FORMATS = ("csv", "parquet")
ATTRS = (
    "number",
    "state",
    "value",
    "datetime_start",
    "datetime_complete",
    "duration",
    "params",
    "user_attrs",
)


def trials_table(study):  # -> pandas.DataFrame
    """The trials as a flat table; non-scalar cells become JSON text."""
    frame = study.trials_dataframe(attrs=ATTRS, multi_index=False)
    # A study with a metric name (`val_acc`) gets `value_val_acc`: keep one column name.
    frame = frame.rename(columns={c: "value" for c in frame.columns if c.startswith("value_")})
    if "duration" in frame:
        frame.insert(frame.columns.get_loc("duration"), "duration_s", frame.pop("duration"))
        frame["duration_s"] = frame["duration_s"].dt.total_seconds()
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, (list, dict))).any():
            frame[column] = frame[column].map(
                lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v
            )
    return frame


def write(frame, fmt: str, output: str) -> None:
    if fmt == "csv":
        frame.to_csv(sys.stdout if output == "-" else output, index=False)
        return
    if output == "-":
        raise UsageError("parquet is binary: pass -o FILE.parquet, not -o -")
    try:
        frame.to_parquet(output, index=False)
    except ImportError as exc:
        raise UsageError(f"parquet needs pyarrow ({exc}); pip install pyarrow") from None
