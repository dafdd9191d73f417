"""Build a tabular replay benchmark from real fits (`hpo replay build`).

    hpo replay build --out hpo/tables/digits_mnist_cnn.json.gz --max-epochs 20
    hpo compare --objective table:hpo/tables/digits_mnist_cnn.json.gz \
        --space conf/spaces/replay.yaml

The build trains every optimizer × log-spaced learning rate × repeat for real (resumable; a
second process with --reverse halves the time); see hpo.bench.replay for how tables answer.
"""

from __future__ import annotations

import shlex

from hpo.cli.common import ArgumentParser
from hpo.errors import UsageError


def build_parser(prog: str) -> ArgumentParser:
    from hpo.bench.replay import DEFAULT_OPTIMIZERS, DEFAULT_TABLE

    p = ArgumentParser(prog=prog, description="Build a replay table.")
    p.add_argument("--out", default=DEFAULT_TABLE, help="table file (default %(default)s)")
    p.add_argument(
        "--storage",
        default="sqlite:///studies/replay-build.db",
        help="where the dense run keeps its trials; a rerun resumes (default %(default)s)",
    )
    p.add_argument("--optimizers", default=DEFAULT_OPTIMIZERS)
    p.add_argument("--n-lrs", type=int, default=24, help="log-spaced learning rates")
    p.add_argument("--lr-low", type=float, default=1e-5)
    p.add_argument("--lr-high", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=2, help="fits per point (seeds 0, 1, …)")
    p.add_argument("--max-epochs", type=int, default=12)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--model", default="mnist_cnn")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--reverse",
        action="store_true",
        help="walk the points backwards: run a second process with it to build twice as fast",
    )
    return p


def main(argv: list[str], prog: str) -> int:
    if not argv or argv[0] != "build":
        raise UsageError(f"usage: {prog} build [--out PATH] … (see {prog} build --help)")
    args = build_parser(f"{prog} build").parse_args(argv[1:])
    from hpo.bench.replay_build import build

    out = build(args, shlex.join([*shlex.split(prog), *argv]))
    print(f"Replay table written: {out} ({out.stat().st_size / 1024:.0f} KB)")
    return 0
