"""Presets: the seed experiments as one command each (conf/presets/NAME.yaml).

    hpo study --list-presets
    hpo study --preset seed001_cifar100 --data-dir data      # flags still override

A preset is plain YAML: a one-line `description`, `run:` defaults for RunConfig fields (the space
file among them), and optionally `fallback_dataset:`, used when the preset's own dataset is not
available offline (seed 003: MNIST, else scikit-learn's digits; see hpo.search.validate).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from hpo.config.paths import is_file
from hpo.config.run import PROJECT_ROOT, RunConfig
from hpo.config.yaml_files import read_yaml
from hpo.errors import UsageError, unknown_choice

PRESET_DIR = PROJECT_ROOT / "conf" / "presets"


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    run: dict[str, Any]
    fallback_dataset: str | None = None


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """A preset by name (conf/presets/NAME.yaml) or by path to a YAML file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and is_file(path):
        return path
    candidate = PRESET_DIR / f"{name}.yaml"
    if is_file(candidate):
        return candidate
    raise unknown_choice("preset", name, preset_names())


def load_preset(name: str) -> Preset:
    path = preset_path(name)
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise UsageError(f"preset {path}: expected a mapping with a 'run:' section")
    extra = sorted(map(str, set(data) - {"description", "run", "fallback_dataset"}))
    if extra:
        raise UsageError(
            f"preset {path}: unknown keys {extra}; use description, run, fallback_dataset"
        )
    run = data.get("run") or {}
    if not isinstance(run, dict):
        raise UsageError(f"preset {path}: 'run:' must be a mapping of setting: value")
    known = {f.name for f in fields(RunConfig)}
    unknown = sorted(map(str, set(run) - known))
    if unknown:
        raise UsageError(
            f"preset {path.stem} sets {unknown}, which are not run settings of this hpo version; "
            f"known: {', '.join(sorted(known))}"
        )
    return Preset(path.stem, str(data.get("description", "")), run, data.get("fallback_dataset"))


def describe_presets() -> str:
    """One line per preset: name and description (read without validating the run settings)."""
    lines = []
    for name in preset_names():
        data = yaml.safe_load((PRESET_DIR / f"{name}.yaml").read_text()) or {}
        lines.append(f"{name:<22s} {data.get('description', '')}")
    return "\n".join(lines)
