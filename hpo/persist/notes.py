"""What a study records about itself for the dashboard: names, readable attrs and a note.

    describe_study(study, config, space, command)          # hpo study, once per run
    describe_comparison_study(study, config, space, part)  # hpo compare, each (method, seed)

The note (optuna-dashboard's `save_note`, shown on the study page) holds the command that
reproduces the study with every setting spelled out (hpo.persist.reproduce), its search space,
and how to get the best configuration back; it is written once, so edits made in the dashboard
are kept. The objective gets its metric's name ("val_acc", not "Objective 0"), and each setting
its own user attr beside the `identity` and `config` JSON that code reads.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import optuna
import yaml

from hpo import __version__
from hpo.config.metrics import create_metrics, parse_cap
from hpo.config.run import RunConfig
from hpo.config.space import CategoricalParam, SearchSpace
from hpo.persist.artifacts import default_artifact_dir
from hpo.persist.commands import hpo_words
from hpo.persist.reproduce import reproduce_command, rerun_command
from hpo.persist.urls import absolute_url, redact

LIBRARIES = ("optuna", "optuna-dashboard", "lightning", "torch", "torchvision")
#: The note line `hpo report` replaces with a link to the report it attaches to the study.
REPORT_LINE = "**Report**:"
REPORT_PENDING = (
    "not written yet: `{command}` writes it and attaches `report.html` to every study of the "
    "comparison, linked here."
)


@dataclass(frozen=True)
class ComparisonPart:
    """Where a study sits in a comparison (`hpo compare`)."""

    experiment: str
    method: str
    seed: int
    command: str  # the `hpo compare` command line, redacted


def library_versions() -> dict[str, str]:
    out = {"hpo": __version__}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def metric_labels(config: RunConfig) -> list[str]:
    """Each objective's name in the dashboard: `val_acc`, or `time_to_acc:0.97 [seconds]`."""
    names = [metric.name for metric in create_metrics(config.metric, config.cap)]
    return [f"{n} [{parse_cap(config.cap).unit}]" if config.cap else n for n in names]


def metric_label(config: RunConfig) -> str:
    return ", ".join(metric_labels(config))


def readable_attrs(config: RunConfig, space: SearchSpace) -> dict[str, Any]:
    """One user attr per setting and per space entry, short enough to read in a table."""
    attrs: dict[str, Any] = {
        "dataset": config.dataset,
        "model": config.model,
        "sampler": config.sampler,
        "pruner": f"{config.pruner} ({config.pruner_startup} start-up trials, "
        f"{config.pruner_warmup} warm-up epochs)",
        "metric": "; ".join(
            f"{label}, {metric.direction}"
            for label, metric in zip(
                metric_labels(config), create_metrics(config.metric, config.cap), strict=True
            )
        ),
        "max_epochs": config.max_epochs,
        "seed": config.seed,
        "n_trials": config.n_trials,
    }
    if config.limit_batches is not None:
        attrs["limit_batches"] = config.limit_batches
    for name, param in space.params.items():
        attrs[f"space.{name}"] = _describe_param(param)
    for name, value in space.fixed.items():
        attrs[f"fixed.{name}"] = value
    return attrs


def _describe_param(param: Any) -> str:
    if isinstance(param, CategoricalParam):
        return "one of " + ", ".join(map(str, param.choices))
    text = f"{param.kind} {param.low:g} … {param.high:g}"
    if param.log:
        text += ", log scale"
    if param.step:
        text += f", step {param.step:g}"
    return text + (f"; grid {', '.join(f'{v:g}' for v in param.grid)}" if param.grid else "")


def name_and_describe(study: optuna.Study, config: RunConfig, space: SearchSpace) -> None:
    """What both kinds of study carry: the metric's name, readable attrs, versions."""
    study.set_metric_names(metric_labels(config))
    for key, value in readable_attrs(config, space).items():
        study.set_user_attr(key, value)
    study.set_user_attr("versions", library_versions())
    if config.artifacts:
        study.set_user_attr("artifact_dir", str(default_artifact_dir(config.storage).resolve()))


def describe_study(
    study: optuna.Study, config: RunConfig, space: SearchSpace, command: str
) -> None:
    from optuna_dashboard import get_note, save_note

    name_and_describe(study, config, space)
    study.set_user_attr("reproduce", reproduce_command(config))
    if not get_note(study):
        save_note(study, study_note(study.study_name, config, space, command))


def describe_comparison_study(
    study: optuna.Study, config: RunConfig, space: SearchSpace, part: ComparisonPart
) -> None:
    from optuna_dashboard import get_note, save_note

    name_and_describe(study, config, space)
    study.set_user_attr("experiment", part.experiment)
    study.set_user_attr("method", part.method)
    study.set_user_attr("seed", part.seed)
    if not get_note(study):
        save_note(study, comparison_note(study.study_name, config, space, part))


def _space_yaml(space: SearchSpace) -> str:
    return yaml.safe_dump(
        {"params": space.to_dict()["params"], "fixed": dict(space.fixed)}, sort_keys=False
    )


def _read_flags(config: RunConfig, name: str) -> str:
    """The flags a read command needs to find this study (password left out)."""
    storage = redact(absolute_url(config.storage), mask=None)
    return shlex.join(["--storage", storage, "--study-name", name])


def study_note(name: str, config: RunConfig, space: SearchSpace, command: str) -> str:
    flags = _read_flags(config, name)
    best = shlex.join(hpo_words("best", stored=True))
    retrain = shlex.join(hpo_words("retrain", "--params", "best.yaml", stored=True))
    export = shlex.join(hpo_words("export", "--format", "csv", stored=True))
    return f"""## {name}

{config.dataset} / {config.model}, {config.sampler} sampler, {config.pruner} pruner,
{metric_label(config)} over ≤{config.max_epochs} epochs per trial, seed {config.seed}.

**Reproduce** (every setting spelled out; {_reproduce_caveats(config)}):

```
{reproduce_command(config)}
```

First run as: `{command}`

**Best configuration** back as YAML, retrained and tested:

```
{best} {flags} -o best.yaml
{retrain}
```

**Trials table**: `{export} {flags}`

Artifacts: a learning curve per trial; on the study, the checkpoint and validation confusion
matrix of each trial that was the best so far (the latest is the best; see the `best_checkpoint`
user attr).

Search space:

```yaml
{_space_yaml(space)}```

hpo {__version__}
"""


def comparison_note(name: str, config: RunConfig, space: SearchSpace, part: ComparisonPart) -> str:
    report = shlex.join(
        hpo_words(
            "report",
            *("--storage", redact(absolute_url(config.storage), mask=None)),
            *("--experiment", part.experiment, "--out", f"reports/{part.experiment}"),
            stored=True,
        )
    )
    return f"""## {name}

One study of the comparison **{part.experiment}**: method `{part.method}`, seed {part.seed};
{config.dataset} / {config.model}, {metric_label(config)} over ≤{config.max_epochs} epochs per
trial, {config.pruner} pruner. Its sibling studies are named `{part.experiment}/<method>/seed<k>`
(the `experiment` user attr).

{REPORT_LINE} {REPORT_PENDING.format(command=report)}

**Run the comparison again** (finished studies are skipped, partial ones continued):
`{rerun_command(part.command, config.storage)}`

Search space:

```yaml
{_space_yaml(space)}```

hpo {__version__}
"""


def link_report(study: optuna.Study, path: str) -> None:
    """Point the note's report line at the report `hpo report` attached (`path`: the dashboard's
    URL of the artifact); the rest of the note, edits included, stays as it is."""
    from optuna_dashboard import get_note, save_note

    line = (
        f"{REPORT_LINE} [report.html]({path}), attached by `hpo report` (run it again to refresh)"
    )
    lines = get_note(study).splitlines()
    at = next((i for i, text in enumerate(lines) if text.startswith(REPORT_LINE)), None)
    if at is None:
        lines += ["", line]
    else:
        lines[at] = line
    save_note(study, "\n".join(lines) + "\n")


def _reproduce_caveats(config: RunConfig) -> str:
    caveats = "the space file must hold the space below"
    if redact(config.storage, mask=None) != config.storage:
        caveats += "; the storage password is not stored: ~/.pgpass or $HPO_STORAGE gives it"
    return caveats
