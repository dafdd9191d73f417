"""Report a comparison run by `hpo compare`: Markdown, HTML, PNG figures and summary.json.

    hpo report --storage sqlite:///studies/hpo.db --experiment cmp --out reports/cmp

Reads the storage only; never writes to it (`--retrain` trains the best configurations again,
outside the storage).
"""

from __future__ import annotations

from pathlib import Path

from hpo.cli.common import ArgumentParser, first_line
from hpo.config.run import DEFAULT_STORAGE
from hpo.errors import UsageError


def build_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="default %(default)s")
    p.add_argument("--experiment", required=True, help="the --experiment given to hpo compare")
    p.add_argument("--out", required=True, help="directory for report.md/html and PNGs")
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
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a directory")
    from hpo.analysis.report import collect, draw, write
    from hpo.analysis.results import load_runs

    report = collect(args.storage, args.experiment, args.target, args.reference)
    out.mkdir(parents=True, exist_ok=True)
    if not args.no_plots or args.retrain:
        runs = load_runs(args.storage, args.experiment)
    if not args.no_plots:
        draw(runs, report, out)
    if args.retrain:
        from hpo.analysis.retrain import retrain_best

        report.retrained = retrain_best(runs)
    write(report, out)
    for line in report.headlines:
        print(line.replace("**", ""))
    print(f"Report: {out / 'report.md'} and {out / 'report.html'}")
    return 0
