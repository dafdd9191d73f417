"""Build a tabular replay benchmark from real fits (`hpo replay build|sample|pack|unpack`).

    hpo replay build --out hpo/tables/digits_mnist_cnn.json.gz --max-epochs 20
    hpo compare --objective table:hpo/tables/digits_mnist_cnn.json.gz \
        --space conf/spaces/replay.yaml

    hpo replay sample --space conf/spaces/digits_5d.yaml --fits /work/table5d --shard 0 --shards 2
    hpo replay pack --space conf/spaces/digits_5d.yaml --fits /work/table5d \
        --out hpo/tables/digits_5d.json.gz
    hpo replay unpack --table hpo/tables/digits_5d.json.gz --fits /work/table5d  # to grow it

`build` trains every optimizer × log-spaced learning rate × repeat for real (resumable; a
second process with --reverse halves the time); see hpo.bench.replay for how tables answer.
`sample` fits a space-filling design of any space (hpo.bench.design, hpo.bench.fit_log) and
`pack` turns those fits into a surrogate table, measuring its fidelity on held-out fits
(hpo.bench.surrogate, hpo.bench.fidelity). `unpack` writes a table's fits back as a fits log,
so `sample --n` with a larger design fits only the new points and `pack` packs old and new.
"""

from __future__ import annotations

import shlex
from argparse import Namespace
from pathlib import Path

from hpo.cli.common import ArgumentParser
from hpo.errors import UsageError, unknown_choice


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


def sample_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description="Fit a space-filling design of a space.")
    p.add_argument("--space", required=True, help="the space the design covers")
    p.add_argument(
        "--fits",
        required=True,
        help="folder for the fits-K.jsonl logs (a rerun skips the fits already there)",
    )
    p.add_argument("--n", type=int, default=4096, help="Sobol points (default %(default)s)")
    p.add_argument("--shard", type=int, default=0, help="this process's share (0-based)")
    p.add_argument("--shards", type=int, default=1, help="processes sharing the design")
    p.add_argument("--limit", type=int, default=None, help="stop after this many fits")
    p.add_argument("--max-epochs", type=int, default=15)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--model", default="mnist_cnn")
    p.add_argument("--seed", type=int, default=0, help="design, weights and data split")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    return p


def sample(argv: list[str], prog: str) -> int:
    args = sample_parser(prog).parse_args(argv)
    if not 0 <= args.shard < args.shards:
        raise UsageError(f"--shard must be in 0…{args.shards - 1}, got {args.shard}")
    from pathlib import Path

    from hpo.bench.design import design
    from hpo.bench.fit_log import run_shard
    from hpo.config.run import RunConfig

    config = RunConfig(
        dataset=args.dataset,
        model=args.model,
        max_epochs=args.max_epochs,
        seed=args.seed,
        threads=args.threads,
        space=args.space,
    )
    configs = design(config.load_space(), args.n, seed=args.seed)
    count = run_shard(configs, Path(args.fits), config, args.shard, args.shards, args.limit)
    print(f"{count} fits written to {args.fits}/fits-{args.shard}.jsonl")
    return 0


def pack_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description="Pack sampled fits into a surrogate table.")
    p.add_argument("--space", required=True, help="the space the fits sampled")
    p.add_argument(
        "--fits",
        required=True,
        help="folder of the fits-K.jsonl files, or a table file whose fits to pack again "
        "(e.g. to choose among new surrogate models)",
    )
    p.add_argument("--out", required=True, help="table file, e.g. hpo/tables/digits_5d.json.gz")
    p.add_argument("--holdout", type=float, default=0.15, help="fraction held out to score it")
    p.add_argument(
        "--models",
        default=None,
        help="comma-separated surrogate candidates to cross-validate (default: all of "
        "extra_trees, random_forest, knn, gaussian_process; the GP's cost grows with the cube "
        "of the fits: leave it out of a table of thousands)",
    )
    p.add_argument("--max-epochs", type=int, default=15)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--model", default="mnist_cnn")
    p.add_argument("--seed", type=int, default=0, help="the seed the fits were sampled with")
    return p


def pack(argv: list[str], prog: str) -> int:
    args = pack_parser(prog).parse_args(argv)
    if not 0.0 < args.holdout < 1.0:
        raise UsageError(f"--holdout must be in (0, 1), got {args.holdout}")
    from hpo.bench.surrogate import MODELS, save_surrogate

    models = args.models.split(",") if args.models else list(MODELS)
    for name in models:
        if name not in MODELS:
            raise unknown_choice("surrogate model", name, MODELS)
    from hpo.bench.design import corners
    from hpo.bench.fidelity import pack as pack_fits
    from hpo.config.space import load_space

    space = load_space(args.space)
    if Path(args.fits).is_file():
        fits, meta = _fits_of_table(args.fits)
    else:
        fits, meta = _fits_of_folder(Path(args.fits), args)
    n_corners = len(corners(space))
    table, fidelity = pack_fits(fits, space, meta, args.holdout, args.seed, n_corners, models)
    save_surrogate(Path(args.out), table)
    held = fidelity["held_out"]
    print(
        f"{len(fits)} fits → {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KB), "
        f"model {fidelity['model']}; held out {held['n']}: final val_acc Spearman "
        f"{held['final_val_acc_spearman']:.3f} ({held['final_val_acc_spearman_learned']:.3f} over "
        f"the {held['n_learned']} that learned), MAE {held['final_val_acc_mae']:.4f}; curves MAE "
        f"{held['curve_val_acc_mae']:.4f}"
    )
    return 0


def _fits_of_folder(folder: Path, args: Namespace) -> tuple[list[dict], dict]:
    """The usable fits of `hpo replay sample` logs, in design order, and the table's facts."""
    from hpo.bench.fit_log import read_fits

    by_index = {int(f["index"]): f for f in read_fits(folder)}
    fits = [f for _, f in sorted(by_index.items()) if not f["stop"].startswith("failed")]
    if len(fits) < 20:
        raise UsageError(f"{folder} holds {len(fits)} usable fits; a table needs at least 20")
    meta = {
        "dataset": args.dataset,
        "model_name": args.model,
        "max_epochs": args.max_epochs,
        "num_classes": int(fits[0].get("num_classes", 10)),
        "seed": args.seed,
        "n_fits": len(fits),
        "n_failed": len(by_index) - len(fits),
        "fit_seconds": round(sum(f["seconds"] for f in fits), 1),
        "design": "grid corners, then scrambled Sobol (hpo.bench.design)",
    }
    return fits, meta


def _fits_of_table(path: str) -> tuple[list[dict], dict]:
    """The fits a table holds, with their design indexes, and its facts, without what the last
    packing chose."""
    from hpo.bench.surrogate import SurrogateTable
    from hpo.bench.tables import open_table

    table = open_table(path)  # a missing or unreadable file: one line, exit 2
    if not isinstance(table, SurrogateTable):
        raise UsageError(f"{path} is an lr × optimizer table (`hpo replay build`): it has no fits")
    chosen = ("model", "model_theta", "fidelity")
    return table.fits, {k: v for k, v in table.meta.items() if k not in chosen}


def unpack_parser(prog: str) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description="Write a table's fits back as a fits log.")
    p.add_argument("--table", required=True, help="table file, e.g. hpo/tables/digits_5d.json.gz")
    p.add_argument("--fits", required=True, help="fits folder to write fits-table.jsonl into")
    return p


def unpack(argv: list[str], prog: str) -> int:
    """A table's fits as `FOLDER/fits-table.jsonl`: `sample` then skips them, `pack` reads them."""
    args = unpack_parser(prog).parse_args(argv)
    out = Path(args.fits) / "fits-table.jsonl"
    if out.exists():
        raise UsageError(f"{out} exists already: unpack into an empty fits folder")
    from hpo.bench.fit_log import write_fits

    fits, meta = _fits_of_table(args.table)
    write_fits(out, [_as_logged(f, meta) for f in fits])
    print(f"{len(fits)} fits of {args.table} written to {out}")
    return 0


def _as_logged(fit: dict, meta: dict) -> dict:
    """A table's fit as `hpo replay sample` logs one (its seconds: the last epoch's clock)."""
    curve = fit["curve"]
    return {
        "index": fit["index"],
        "params": fit["params"],
        "seed": meta.get("seed", 0),
        "num_classes": meta.get("num_classes", 10),
        "seconds": float(curve[-1].get("elapsed_s") or 0.0) if curve else 0.0,
        "stop": "completed",  # how it ended is in its curve; only failed fits are left out
        "curve": curve,
    }


def main(argv: list[str], prog: str) -> int:
    if argv and argv[0] == "sample":
        return sample(argv[1:], f"{prog} sample")
    if argv and argv[0] == "pack":
        return pack(argv[1:], f"{prog} pack")
    if argv and argv[0] == "unpack":
        return unpack(argv[1:], f"{prog} unpack")
    if not argv or argv[0] != "build":
        raise UsageError(f"usage: {prog} build|sample|pack|unpack … (see {prog} build --help)")
    args = build_parser(f"{prog} build").parse_args(argv[1:])
    from hpo.bench.replay_build import build

    out = build(args, shlex.join([*shlex.split(prog), *argv]))
    print(f"Replay table written: {out} ({out.stat().st_size / 1024:.0f} KB)")
    return 0
