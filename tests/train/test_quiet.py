"""Lightning's log lines only with --verbose, whoever builds the Trainer: the level Lightning's
import sets is overridden where hpo builds its Trainers, so no caller has to set it again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hpo.testing.helpers import cli_env

FIT_AND_RANGE_TEST = """
import sys
from hpo.config.run import RunConfig
from hpo.train.fit import build, make_trainer  # imports Lightning, which sets its level to INFO
from hpo.train.lr_find import range_test

config = RunConfig(max_epochs=1, limit_batches=2, verbose=sys.argv[1] == "verbose")
built = build({"width": 1}, config)
make_trainer(config, []).fit(built.module, datamodule=built.datamodule)
range_test(config, {"width": 1}, steps=5)
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_lightning_speaks_only_when_verbose(verbose: bool, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", FIT_AND_RANGE_TEST, "verbose" if verbose else "quiet"],
        env=cli_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    said = proc.stdout + proc.stderr
    assert ("GPU available" in said) == verbose, said  # the Trainer's device lines
    assert ("Restoring states" in said) == verbose, said  # the LR finder's own line
