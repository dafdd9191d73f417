"""Write a study's trials table to CSV or Parquet.

    python -m hpo.study export --format csv                     # <study name>.csv here
    python -m hpo.study export --format parquet -o trials.parquet --storage URL --study-name NAME
    python -m hpo.study export --format csv -o -                # CSV to stdout

One row per trial (Optuna's `trials_dataframe`): number, state, value, start/end times,
`duration_s`, `params_*`, `user_attrs_*`. Lists and dicts (the per-epoch `curve`) are JSON text,
so both formats hold exactly what the storage holds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from hpo.cli import ArgumentParser, cli_main
from hpo.config import DEFAULT_STORAGE
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


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m hpo.study export", description=__doc__.splitlines()[0])
    p.add_argument("--format", default="csv", help="csv or parquet (default %(default)s)")
    p.add_argument(
        "-o", "--output", default=None, help="file (default: <study>.<format>); - = stdout"
    )
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="storage URL (default %(default)s)")
    p.add_argument("--study-name", default=None, help="needed when the storage holds several")
    return p


def trials_table(study):  # -> pandas.DataFrame
    """The trials as a flat table; non-scalar cells become JSON text."""
    frame = study.trials_dataframe(attrs=ATTRS, multi_index=False)
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


@cli_main("hpo.study export")
def main(argv: Sequence[str] | None = None) -> int:
    from hpo.stored import load_existing_study

    args = build_parser().parse_args(argv)
    if args.format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {args.format!r}")
    study = load_existing_study(args.storage, args.study_name)
    output = args.output or f"{study.study_name}.{args.format}"
    if output != "-" and not Path(output).parent.is_dir():
        raise UsageError(f"cannot write {output}: its directory does not exist")
    frame = trials_table(study)
    write(frame, args.format, output)
    where = "stdout" if output == "-" else output
    print(f"Wrote {len(frame)} trials of {study.study_name!r} to {where}.", file=sys.stderr)
    return 0
