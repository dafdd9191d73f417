"""Print a study's best configuration as YAML, ready for `hpo retrain`.

    hpo best > best.yaml
    hpo best --storage URL --study-name NAME -o best.yaml
    hpo retrain --params best.yaml

The YAML holds what the retrain needs, taken from the study itself: dataset, model, epochs, seed,
metric, and every hyperparameter (the searched ones of the best trial and the space's fixed ones).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hpo.cli.common import ArgumentParser, first_line
from hpo.config.run import DEFAULT_STORAGE
from hpo.errors import UsageError


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    p.add_argument("-o", "--output", default="-", help="file (default: stdout)")
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="storage URL (default %(default)s)")
    p.add_argument("--study-name", default=None, help="needed when the storage holds several")
    return p


def main(argv: list[str], prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    from hpo.analysis.best import best_configuration, to_yaml
    from hpo.persist.studies import load_existing_study

    study = load_existing_study(args.storage, args.study_name)
    text = to_yaml(best_configuration(study))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        if not Path(args.output).parent.is_dir():
            raise UsageError(f"cannot write {args.output}: its directory does not exist")
        Path(args.output).write_text(text)
        print(f"Wrote the best configuration to {args.output}.", file=sys.stderr)
    return 0
