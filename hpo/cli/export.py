"""Write a study's trials table to CSV or Parquet.

    hpo export --format csv                     # <study name>.csv here (the default study)
    hpo export --format parquet -o trials.parquet --storage URL --study-name NAME
    hpo export --format csv -o -                # CSV to stdout

One row per trial (Optuna's `trials_dataframe`): number, state, value, start/end times,
`duration_s`, `params_*`, `user_attrs_*`. Lists and dicts (the per-epoch `curve`) are JSON text,
so both formats hold exactly what the storage holds. The file is written only on success.
"""

from __future__ import annotations

import sys

from hpo.cli.common import (
    ArgumentParser,
    add_storage_flag,
    add_study_flags,
    atomic_output,
    check_output_path,
    default_study_name,
    first_line,
)
from hpo.errors import UsageError, unknown_choice

FORMATS = ("csv", "parquet")


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    p.add_argument("--format", default="csv", help="csv or parquet (default %(default)s)")
    p.add_argument(
        "-o", "--output", default=None, help="file (default: <study>.<format>); - = stdout"
    )
    add_storage_flag(p)
    add_study_flags(p)
    return p


def main(argv: list[str], prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    if args.format not in FORMATS:
        raise unknown_choice("--format", args.format, FORMATS)
    if args.output == "-" and args.format == "parquet":
        raise UsageError("parquet is binary: pass -o FILE.parquet, not -o -")
    if args.output not in (None, "-"):
        check_output_path(args.output)
    from hpo.analysis.export import trials_table, write
    from hpo.persist.studies import load_existing_study

    study = load_existing_study(args.storage, args.study_name, default_study_name(args))
    output = args.output or safe_file_name(f"{study.study_name}.{args.format}")
    frame = trials_table(study)
    if output == "-":
        write(frame, args.format, "-")
    else:
        with atomic_output(output) as tmp:
            write(frame, args.format, str(tmp))
    where = "stdout" if output == "-" else output
    print(f"Wrote {len(frame)} trials of {study.study_name!r} to {where}.", file=sys.stderr)
    return 0


def safe_file_name(name: str) -> str:
    """A study name as one file name here (compare studies hold slashes)."""
    from hpo.config.names import study_folder

    return study_folder(name)
