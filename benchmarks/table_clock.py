"""Put fits trained on a slower (or busier) machine on the clock of a table's other fits.

    .venv/bin/python benchmarks/table_clock.py --space conf/spaces/digits_5d.yaml \
        --fits /tmp/hpo-table5d --reference fits-table.jsonl [--window 256]

A table's seconds are measured: fits added on another day, or beside another job, run on another
clock, and a surrogate fitted on both would blur them. Every fit's accuracy and loss are kept;
only its seconds (`seconds` and each epoch's `elapsed_s`) are rescaled. The clock ratio is
measured, not assumed: a forest fitted on the reference fits (log seconds per epoch of the fits
that completed all their epochs) predicts each other fit's pace, and every window of `--window`
consecutive fits of a `fits-K.jsonl` (a stretch of time on one process) is divided by the median
ratio of its measured pace to the predicted one. The files are rewritten in place, the
originals kept beside them as `*.jsonl.orig`; run once (it refuses if an `.orig` exists).
Hand-written: no library calibrates one set of timings against another like this.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from sklearn.ensemble import ExtraTreesRegressor

from hpo.bench.fit_log import read_log, write_fits
from hpo.bench.surrogate import encode
from hpo.config.space import SearchSpace, load_space


def pace(fit: dict) -> float | None:
    """Seconds an epoch, for a fit that trained every epoch (diverged ones stop at once)."""
    if fit["stop"] != "completed" or not fit["curve"]:
        return None
    return fit["seconds"] / len(fit["curve"])


def inputs(space: SearchSpace, fits: list[dict]) -> np.ndarray:
    """The fits' configurations as the surrogate table encodes them."""
    return np.stack([encode(space, f["params"]) for f in fits])


def pace_model(space: SearchSpace, fits: list[dict]) -> ExtraTreesRegressor:
    """Log seconds an epoch from a configuration, fitted on `fits`."""
    timed = [f for f in fits if pace(f)]
    model = ExtraTreesRegressor(100, min_samples_leaf=3, random_state=0, n_jobs=2)
    return model.fit(inputs(space, timed), np.log([pace(f) for f in timed]))


def window_ratios(space: SearchSpace, fits: list[dict], model, window: int) -> list[float]:
    """For each window of `window` consecutive fits: median measured / predicted pace."""
    predicted = np.exp(model.predict(inputs(space, fits)))
    measured = np.array([pace(f) or np.nan for f in fits])
    ratio = measured / predicted
    return [float(np.nanmedian(ratio[a : a + window])) for a in range(0, len(fits), window)]


def rescaled(fit: dict, ratio: float) -> dict:
    curve = [{**row, "elapsed_s": round(row["elapsed_s"] / ratio, 3)} for row in fit["curve"]]
    return {**fit, "seconds": round(fit["seconds"] / ratio, 3), "curve": curve}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", required=True)
    parser.add_argument("--fits", required=True, help="folder of fits-*.jsonl")
    parser.add_argument("--reference", default="fits-table.jsonl", help="file whose clock to keep")
    parser.add_argument("--window", type=int, default=256)
    args = parser.parse_args()
    folder, space = Path(args.fits), load_space(args.space)
    logs = [p for p in sorted(folder.glob("fits-*.jsonl")) if p.name != args.reference]
    for path in logs:
        if path.with_suffix(".jsonl.orig").exists():
            raise SystemExit(f"{path}.orig exists: {path} was rescaled already")
    model = pace_model(space, read_log(folder / args.reference))
    for path in logs:
        fits = read_log(path)
        ratios = window_ratios(space, fits, model, args.window)
        shutil.move(path, path.with_suffix(".jsonl.orig"))
        write_fits(path, [rescaled(f, ratios[i // args.window]) for i, f in enumerate(fits)])
        print(
            f"{path.name}: {len(fits)} fits, clock ratio per window of {args.window}:",
            " ".join(f"{r:.2f}" for r in ratios),
        )


if __name__ == "__main__":
    main()
