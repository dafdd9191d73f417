"""Write a study's best configuration as YAML, ready for `hpo retrain`.

    hpo best -o best.yaml                     # the default study (see --study-name)
    hpo best --storage URL --study-name NAME -o best.yaml
    hpo retrain --params best.yaml

The YAML holds what the retrain needs, taken from the study itself: dataset, model, epochs, seed,
metric, and every hyperparameter (the searched ones of the best trial and the space's fixed ones).
`-o FILE` is written only when everything succeeded (no empty file on an error); without it the
YAML goes to stdout. A multi-objective study (`--metric val_acc,train_seconds`) has a Pareto set,
not one best trial: `hpo best` prints it (each trial's values and parameters), and
`hpo best --trial N` writes trial N's configuration for `hpo retrain`.
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


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    p.add_argument("-o", "--output", default="-", help="file (default: stdout)")
    p.add_argument(
        "--trial",
        type=int,
        default=None,
        metavar="N",
        help="this COMPLETE trial instead of the best (e.g. one of a Pareto set)",
    )
    add_storage_flag(p)
    add_study_flags(p)
    return p


def main(argv: list[str], prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    if args.output != "-":
        check_output_path(args.output)
    from hpo.analysis.best import best_configuration, is_multi_objective, pareto_set, to_yaml
    from hpo.persist.studies import load_existing_study

    study = load_existing_study(args.storage, args.study_name, default_study_name(args))
    if is_multi_objective(study) and args.trial is None:
        text = to_yaml(pareto_set(study))
    else:
        text = to_yaml(best_configuration(study, args.trial))
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    with atomic_output(args.output) as tmp:
        tmp.write_text(text)
    what = "the Pareto set" if text.startswith("# Pareto") else "the best configuration"
    print(f"Wrote {what} of {study.study_name!r} to {args.output}.", file=sys.stderr)
    return 0
