"""Report a comparison run by `hpo compare`: Markdown, HTML, PNG figures and summary.json.

    hpo report --experiment cmp --out reports/cmp
    hpo report --storage sqlite:///studies/other.db          # its only comparison

Reads the trials; the one thing it writes to the storage is the report itself: report.html is
attached to every study of the comparison as an artifact, linked from the study's note, so the
dashboard leads from any of those studies to it. (`--retrain` trains the best configurations
again, outside the storage.) A comparison with several objectives (`--metric val_acc,n_params`)
is reported by its Pareto fronts and each method's hypervolume instead.
"""

from __future__ import annotations

from pathlib import Path

from hpo.cli.common import ArgumentParser, add_storage_flag, first_line
from hpo.errors import UsageError


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    add_storage_flag(p)
    p.add_argument(
        "--experiment",
        default=None,
        help="the --experiment given to hpo compare (default: the storage's only comparison)",
    )
    p.add_argument("--out", default=None, help="directory (default reports/<experiment>)")
    p.add_argument(
        "--target",
        type=float,
        default=None,
        help="value for 'trials to target' (default: the reference's median final best)",
    )
    p.add_argument("--reference", default="random", help="reference method (default random)")
    p.add_argument("--no-plots", action="store_true", help="tables only (faster)")
    p.add_argument(
        "--retrain",
        action="store_true",
        help="train each method's best configuration again and score it on the test split",
    )
    return p


def main(argv: list[str], prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; give a directory")
    from hpo.analysis.publish import publish
    from hpo.analysis.report import collect, draw, write
    from hpo.analysis.results import choose_experiment, load_runs

    experiment = choose_experiment(args.storage, args.experiment)
    out = Path(args.out or f"reports/{experiment}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a directory")
    if _multi_objective_report(args.storage, experiment, out, args.no_plots):
        if args.retrain:
            print(
                "--retrain: skipped, a multi-objective comparison has no single best trial; "
                "retrain one with `hpo best --trial N -o t.yaml` and `hpo retrain --params t.yaml`"
            )
        return 0
    runs = load_runs(args.storage, experiment)
    report = collect(runs, args.storage, experiment, args.target, args.reference)
    out.mkdir(parents=True, exist_ok=True)
    if not args.no_plots:
        draw(runs, report, out)
    if args.retrain:
        from hpo.analysis.retrain import retrain_best

        report.retrained = retrain_best(runs)
    write(report, out)
    studies = publish(args.storage, experiment, out / "report.html")
    for line in report.headlines:
        print(line.replace("**", ""))
    print(f"Report: {out / 'report.md'} and {out / 'report.html'}")
    print(f"Attached to the {studies} studies of {experiment!r} (their Artifacts and notes).")
    return 0


def _multi_objective_report(storage: str, experiment: str, out: Path, no_plots: bool) -> bool:
    """A comparison with several objectives: Pareto fronts and hypervolumes (hpo.analysis.pareto)
    instead of best values; False if it has one objective."""
    from hpo.analysis import pareto
    from hpo.analysis.publish import publish

    report = pareto.pareto_report(storage, experiment)
    if report is None:
        return False
    out.mkdir(parents=True, exist_ok=True)
    if not no_plots:
        pareto.draw_fronts(report, out)
    pareto.write(report, out)
    studies = publish(storage, experiment, out / "report.html")
    for line in pareto.findings(report):
        print(line)
    print(f"Report: {out / 'report.md'} and {out / 'report.html'}")
    print(f"Attached to the {studies} studies of {experiment!r} (their Artifacts and notes).")
    return True
