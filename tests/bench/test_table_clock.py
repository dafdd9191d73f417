"""benchmarks/table_clock.py: fits timed on a slower clock are put back on the reference's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hpo.bench.design import design
from hpo.bench.fit_log import read_log, write_fits
from hpo.config.space import load_space
from hpo.testing.helpers import ROOT, cli_env

SPACE = ROOT / "conf/spaces/digits_5d.yaml"


def fake_fit(index: int, params: dict, slower: float) -> dict:
    """A fit whose pace is a law of its configuration (wider and smaller batches: slower),
    timed on a clock `slower` times the reference's."""
    pace = 0.1 * params["width"] * 256 / params["batch_size"] * slower
    curve = [
        {"val_acc": 0.1 * (index % 7), "elapsed_s": round(pace * (e + 1), 6)} for e in range(3)
    ]
    return {
        "index": index,
        "params": params,
        "stop": "completed",
        "seconds": pace * 3,
        "curve": curve,
    }


def run_clock(folder: Path) -> subprocess.CompletedProcess:
    args = ["--space", str(SPACE), "--fits", str(folder), "--window", "40"]
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/table_clock.py"), *args],
        env=cli_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.timeout(300)
def test_new_fits_are_rescaled_by_the_measured_ratio_of_each_stretch(tmp_path) -> None:
    configs = design(load_space(SPACE), 512, seed=0)
    write_fits(tmp_path / "fits-table.jsonl", [fake_fit(i, configs[i], 1.0) for i in range(400)])
    # 80 new fits: the first 40 on a clock 3× slower, the next 40 on one 1.5× slower.
    new = [fake_fit(i, configs[i], 3.0 if i < 440 else 1.5) for i in range(400, 480)]
    write_fits(tmp_path / "fits-0.jsonl", new)

    result = run_clock(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "fits-0.jsonl: 80 fits" in result.stdout and "fits-table" not in result.stdout
    fixed = read_log(tmp_path / "fits-0.jsonl")
    truth = [fake_fit(i, configs[i], 1.0) for i in range(400, 480)]
    ratios = [f["seconds"] / t["seconds"] for f, t in zip(fixed, truth, strict=True)]
    for stretch in (ratios[:40], ratios[40:]):  # each stretch by its own measured ratio
        assert sorted(stretch)[20] == pytest.approx(1.0, abs=0.1)
    assert [f["curve"][0]["val_acc"] for f in fixed] == [t["curve"][0]["val_acc"] for t in truth]
    assert all(f["curve"][-1]["elapsed_s"] == pytest.approx(f["seconds"], rel=0.01) for f in fixed)
    assert read_log(tmp_path / "fits-0.jsonl.orig") == new

    again = run_clock(tmp_path)  # a second run would divide twice: refused
    assert again.returncode != 0 and "rescaled already" in again.stderr
