"""Write a study's trials table to CSV or Parquet.

    hpo export --format csv                     # <study name>.csv here
    hpo export --format parquet -o trials.parquet --storage URL --study-name NAME
    hpo export --format csv -o -                # CSV to stdout

One row per trial (Optuna's `trials_dataframe`): number, state, value, start/end times,
`duration_s`, `params_*`, `user_attrs_*`. Lists and dicts (the per-epoch `curve`) are JSON text,
so both formats hold exactly what the storage holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hpo.cli.common import ArgumentParser, first_line
from hpo.config.run import DEFAULT_STORAGE
from hpo.errors import UsageError, unknown_choice

FORMATS = ("csv", "parquet")


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    p.add_argument("--format", default="csv", help="csv or parquet (default %(default)s)")
    p.add_argument(
        "-o", "--output", default=None, help="file (default: <study>.<format>); - = stdout"
    )
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="storage URL (default %(default)s)")
    p.add_argument("--study-name", default=None, help="needed when the storage holds several")
    return p


def main(argv: list[str], prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    if args.format not in FORMATS:
        raise unknown_choice("--format", args.format, FORMATS)
    from hpo.analysis.export import trials_table, write
    from hpo.persist.studies import load_existing_study

    study = load_existing_study(args.storage, args.study_name)
    output = args.output or f"{study.study_name}.{args.format}"
    if output != "-" and not Path(output).parent.is_dir():
        raise UsageError(f"cannot write {output}: its directory does not exist")
    frame = trials_table(study)
    write(frame, args.format, output)
    where = "stdout" if output == "-" else output
    print(f"Wrote {len(frame)} trials of {study.study_name!r} to {where}.", file=sys.stderr)
    return 0
