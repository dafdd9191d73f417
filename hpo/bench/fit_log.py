"""Real fits of a design, one JSON line each: resumable and shared out across processes.

    hpo replay sample --space conf/spaces/digits_5d.yaml --fits /work/table5d --shard 0 --shards 2

Process K of N trains the design points whose index ≡ K (mod N) through hpo.train's fit path
(the Trainer a trial gets, with the epoch curve and the divergence stop, never pruned) and
appends each finished fit to `fits-K.jsonl`; a restarted process skips the indexes already in
any `fits-*.jsonl` of the folder. A line is written only once a fit has ended, so a killed
process loses at most the fit it was training.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hpo.config.run import RunConfig


def read_fits(folder: Path) -> list[dict[str, Any]]:
    """Every fit recorded in the folder's `fits-*.jsonl`."""
    return [fit for path in sorted(folder.glob("fits-*.jsonl")) for fit in read_log(path)]


def read_log(path: Path) -> list[dict[str, Any]]:
    """The fits of one log, in the order written (a torn line is skipped)."""
    fits = []
    for line in path.read_text().splitlines():
        try:
            fits.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a process killed mid-write
    return fits


def pending(
    configs: list[dict[str, Any]], done: set[int], shard: int, shards: int
) -> Iterator[int]:
    """This shard's design indexes not yet fitted, in design order."""
    return (i for i in range(len(configs)) if i % shards == shard and i not in done)


def fit_one(params: dict[str, Any], config: RunConfig) -> dict[str, Any]:
    """Train one configuration to the end (or to divergence); its curve and how it ended."""
    from hpo.train.callbacks.divergence_stop import DivergenceStop
    from hpo.train.callbacks.epoch_curve import EpochCurve
    from hpo.train.divergence import divergence, divergence_threshold
    from hpo.train.fit import build, make_trainer

    built = build(params, config)
    curve = EpochCurve()
    num_classes = built.datamodule.num_classes
    trainer = make_trainer(config, [curve, DivergenceStop(num_classes)])
    start = time.perf_counter()
    try:
        trainer.fit(built.module, datamodule=built.datamodule)
        diverged = divergence(curve.rows, divergence_threshold(num_classes))
        stop = f"diverged: {diverged}" if diverged else "completed"
    except Exception as exc:  # recorded, as a trial would be: the build goes on
        stop = f"failed: {type(exc).__name__}: {exc}"
    return {
        "params": params,
        "seed": config.seed,
        "n_params": built.n_params,
        "num_classes": num_classes,
        "seconds": round(time.perf_counter() - start, 3),
        "stop": stop,
        "curve": [_json_safe(row) for row in curve.rows],
    }


def run_shard(
    configs: list[dict[str, Any]],
    folder: Path,
    config: RunConfig,
    shard: int = 0,
    shards: int = 1,
    limit: int | None = None,
) -> int:
    """Fit this shard's pending design points (at most `limit`); the number fitted."""
    import lightning.pytorch  # noqa: F401  (its import sets its log level: quiet it after)

    from hpo.search.logs import quiet_libraries

    quiet_libraries(False)
    folder.mkdir(parents=True, exist_ok=True)
    done = {int(f["index"]) for f in read_fits(folder)}
    out = folder / f"fits-{shard}.jsonl"
    _end_torn_line(out)
    count, start = 0, time.perf_counter()
    for index in pending(configs, done, shard, shards):
        if limit is not None and count >= limit:
            break
        record = {"index": index, **fit_one(configs[index], config)}
        write_fits(out, [record])
        count += 1
        last = record["curve"][-1] if record["curve"] else {}
        print(
            f"[{shard}/{shards}] #{index} {_short(configs[index])} {record['stop'][:40]} "
            f"val_acc={last.get('val_acc')} {record['seconds']:.1f} s "
            f"({count} fits, {time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    return count


def write_fits(path: Path, records: list[dict[str, Any]]) -> None:
    """Append fits to a log, one JSON line each, on disk before this returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        for record in records:
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _end_torn_line(path: Path) -> None:
    """A process killed mid-write leaves a line without its newline: end it, so the next fit
    appended is a line of its own (the torn one is skipped when read)."""
    if path.is_file() and path.stat().st_size:
        with path.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            torn = fh.read(1) != b"\n"
        if torn:
            with path.open("a") as fh:
                fh.write("\n")


def _short(params: dict[str, Any]) -> str:
    return " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def _json_safe(row: dict[str, float]) -> dict[str, float | None]:
    return {k: (round(v, 6) if math.isfinite(v) else None) for k, v in row.items()}
