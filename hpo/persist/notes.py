"""What a study records about itself for the dashboard: user attrs and a Markdown note.

    describe_study(study, config, space, command)   # once per run, after open_study

The note (optuna-dashboard's `save_note`, shown on the study page) holds the command that
reproduces the study with every setting spelled out, its search space, and how to get the best
configuration back; it is written once, so edits made in the dashboard are kept.
"""

from __future__ import annotations

import shlex
from importlib.metadata import PackageNotFoundError, version

import optuna
import yaml

from hpo import __version__
from hpo.config.run import IDENTITY, RunConfig
from hpo.config.space import SearchSpace
from hpo.persist.artifacts import default_artifact_dir
from hpo.persist.urls import redact

LIBRARIES = ("optuna", "optuna-dashboard", "lightning", "torch", "torchvision")


def library_versions() -> dict[str, str]:
    out = {"hpo": __version__}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def reproduce_command(config: RunConfig) -> str:
    """`python -m hpo.study` with every identity setting, the budget, storage and name."""
    args = ["python", "-m", "hpo.study"]
    for name in (*IDENTITY, "n_trials"):
        args += [f"--{name.replace('_', '-')}", str(getattr(config, name))]
    args += ["--storage", redact(config.storage), "--study-name", config.name]
    return shlex.join(args)


def describe_study(
    study: optuna.Study, config: RunConfig, space: SearchSpace, command: str
) -> None:
    from optuna_dashboard import get_note, save_note

    study.set_user_attr("dataset", config.dataset)
    study.set_user_attr("model", config.model)
    study.set_user_attr("versions", library_versions())
    study.set_user_attr("reproduce", reproduce_command(config))
    if config.artifacts:
        study.set_user_attr("artifact_dir", str(default_artifact_dir(config.storage).resolve()))
    if not get_note(study):
        save_note(study, study_note(study.study_name, config, space, command))


def study_note(name: str, config: RunConfig, space: SearchSpace, command: str) -> str:
    storage = shlex.quote(redact(config.storage))
    space_yaml = yaml.safe_dump(
        {"params": space.to_dict()["params"], "fixed": dict(space.fixed)}, sort_keys=False
    )
    return f"""## {name}

{config.dataset} / {config.model}, {config.sampler} sampler, {config.pruner} pruner,
{config.metric} over ≤{config.max_epochs} epochs per trial, seed {config.seed}.

**Reproduce** (every setting spelled out; the space file must hold the space below):

```
{reproduce_command(config)}
```

First run as: `{command}`

**Best configuration** back as YAML, retrained and tested:

```
python -m hpo.study best --storage {storage} --study-name {shlex.quote(name)} > best.yaml
python -m hpo.study retrain --params best.yaml
```

**Trials table**: `python -m hpo.study export --format csv --storage {storage}`

Artifacts: a learning curve per trial; on the study, the checkpoint and validation confusion
matrix of each trial that was the best so far (the latest is the best; see the `best_checkpoint`
user attr).

Search space:

```yaml
{space_yaml}```

hpo {__version__}
"""
