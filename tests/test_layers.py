"""The layering of ARCHITECTURE.md is a checked contract: import-linter's layers and acyclic
contracts (pyproject.toml), every subpackage named in them, and Optuna's private API touched in
one module only."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from hpo.testing.helpers import ROOT

PACKAGE = ROOT / "hpo"
#: Attribute and module names of Optuna's private API that hpo relies on.
PRIVATE = re.compile(
    r"\._(study_id|trial_id|storage|backend|get_stale_trial_ids|cached_storage|heartbeat)\b"
    r"|from optuna[\w.]*\._|optuna\.[\w.]*\._[a-z]"
)


def test_lint_imports_keeps_the_layers_and_finds_no_cycle() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_every_subpackage_and_top_module_is_in_a_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    named = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    subpackages = {f"hpo.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {f"hpo.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert subpackages | modules == named
    assert len(subpackages) >= 5 and len(modules) <= 12


def test_optuna_private_attributes_are_touched_in_one_module_only() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != PACKAGE / "persist" / "internals.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert offenders == []
