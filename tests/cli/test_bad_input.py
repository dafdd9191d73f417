"""Bad input through a real subprocess: exit 2, one line on stderr, no traceback, and the
existing database left byte-for-byte as it was."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from hpo.study import main
from hpo.testing.helpers import TINY_SPACE, file_digest, run_cli, write_space


def _space_with(**param_changes: dict) -> dict:
    space = yaml.safe_load(yaml.safe_dump(TINY_SPACE))
    for name, spec in param_changes.items():
        space["params"][name] = spec
    return space


SPACES = {
    "low_ge_high": _space_with(lr={"type": "float", "low": 0.1, "high": 0.01}),
    "log_nonpositive": _space_with(lr={"type": "float", "low": 0.0, "high": 0.1, "log": True}),
    "empty_choices": _space_with(optimizer={"type": "categorical", "choices": []}),
    "unknown_param": _space_with(lern_rate={"type": "float", "low": 0.1, "high": 1.0}),
}

# case → (extra CLI args, text the error line must contain); {dir} is the temp directory.
CASES = {
    "unknown sampler": (["--sampler", "bayes"], "unknown sampler 'bayes'; choose one of"),
    "unknown pruner": (["--pruner", "mediun"], "unknown pruner 'mediun'"),
    "unknown model": (["--model", "vgg99"], "unknown model 'vgg99'"),
    "unknown dataset": (["--dataset", "imagenet42"], "unknown dataset 'imagenet42'"),
    "malformed yaml": (["--space", "{dir}/malformed.yaml"], "malformed YAML at line"),
    "missing space": (["--space", "{dir}/nope.yaml"], "not found"),
    "low >= high": (["--space", "{dir}/low_ge_high.yaml"], "must be less than high"),
    "log with low <= 0": (["--space", "{dir}/log_nonpositive.yaml"], "log: true needs low > 0"),
    "empty choices": (["--space", "{dir}/empty_choices.yaml"], "'choices' must be a non-empty"),
    "unknown parameter": (["--space", "{dir}/unknown_param.yaml"], "['lern_rate']"),
    "zero trials": (["--n-trials", "0"], "--n-trials must be at least 1"),
    "zero epochs": (["--max-epochs", "0"], "--max-epochs must be at least 1"),
    "negative timeout": (["--timeout", "-5"], "--timeout must be a positive"),
    "not an int": (["--n-trials", "many"], "invalid int value: 'many'"),
    "unwritable storage": (["--storage", "sqlite:///{dir}/a_file/study.db"], "not writable"),
    "unknown scheme": (["--storage", "mongodb://localhost/x"], "unknown storage scheme"),
    "changed configuration": (["--max-epochs", "3"], "max_epochs: 1 → 3"),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> tuple[dict[str, subprocess.CompletedProcess[str]], Path, str]:
    """Create one real study, then run every bad command against it (3 at a time)."""
    tmp = tmp_path_factory.mktemp("bad_input")
    base = write_space(tmp)
    (tmp / "malformed.yaml").write_text("params:\n  lr: {type: float, low: 1\n")
    (tmp / "a_file").write_text("not a directory")
    for name, space in SPACES.items():
        write_space(tmp, space, f"{name}.yaml")
    db = tmp / "existing.db"
    common = ["--space", str(base), "--storage", f"sqlite:///{db}", "--max-epochs", "1"]
    assert main(["--n-trials", "2", "--quiet", *common]) == 0
    digest = file_digest(db)

    def run(case: str) -> subprocess.CompletedProcess[str]:
        args = [a.replace("{dir}", str(tmp)) for a in CASES[case][0]]
        return run_cli("hpo.study", "--n-trials", "3", *common, *args, cwd=tmp)

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(CASES, pool.map(run, CASES), strict=True))
    return results, db, digest


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_and_stores_nothing(case, outcomes):
    results, db, digest = outcomes
    result = results[case]
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "error:" in lines[0]
    assert CASES[case][1] in lines[0]
    assert file_digest(db) == digest
