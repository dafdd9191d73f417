"""share_cores: BLAS pools capped in this process (loaded and later-loaded) and its children."""

import json
import os
import subprocess
import sys

import pytest

REPORT = """
import json, os, subprocess, sys
import numpy
from hpo.config.run import share_cores
share_cores(1)
import scipy.linalg  # scipy's own OpenBLAS, loaded after the cap
from threadpoolctl import threadpool_info
ask = "import os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"
child = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True).stdout.strip()
pools = [(p["prefix"], p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"]
print(json.dumps({"pools": pools, "child": child}))
"""


def blas_report(env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", REPORT], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}


def test_share_cores_caps_loaded_and_later_loaded_pools_and_children(clean_env) -> None:
    report = blas_report(clean_env)
    assert len(report["pools"]) >= 2, report  # numpy's and scipy's OpenBLAS
    assert all(threads == 1 for _, threads in report["pools"]), report
    assert report["child"] == "1"


def test_share_cores_leaves_a_users_own_setting(clean_env) -> None:
    report = blas_report({**clean_env, "OPENBLAS_NUM_THREADS": "2"})
    assert report["child"] == "2"
    if (os.cpu_count() or 1) >= 2:  # OpenBLAS takes no more threads than cores
        assert all(threads == 2 for _, threads in report["pools"]), report
