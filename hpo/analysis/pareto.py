"""A multi-objective comparison: each method's Pareto front, and methods compared by hypervolume.

    report = pareto_report(storage, "cmp")       # None if the comparison has one objective
    draw_fronts(report, out); write(report, out)  # what `hpo report` does for it

Every (method, seed) study's hypervolume is computed on objectives scaled to [0, 1] by the
range all completed trials of the comparison span (0 = best seen, 1 = worst seen, whatever the
direction), against the reference point 1.1 in every objective: a study that found the best
value of every objective at once would score 1.1^k. One reference for all studies, so the
numbers compare; a method is better when its median is higher (Mann-Whitney U over seeds).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from hpo.analysis.results import experiment_studies
from hpo.persist.internals import hypervolume
from hpo.persist.storages import open_existing_storage
from hpo.persist.urls import redact

REFERENCE = 1.1  # in every scaled objective


@dataclass
class ParetoReport:
    experiment: str
    storage: str
    metrics: list[str]
    directions: list[str]  # "maximize" | "minimize", per metric
    bounds: list[tuple[float, float]]  # (best, worst) seen, per metric: the scaling
    #: method → [(seed, hypervolume, Pareto-set size, completed trials)]
    studies: dict[str, list[tuple[int, float, int, int]]]
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per method
    tests: list[dict[str, Any]] = field(default_factory=list)  # pairwise, on hypervolumes
    figures: list[tuple[str, str]] = field(default_factory=list)
    trials: dict[str, list[FrozenTrial]] = field(default_factory=dict, repr=False)


def load(url: str, experiment: str) -> dict[tuple[str, int], optuna.Study]:
    """The comparison's studies by (method, seed); {} if it has one objective (read from its
    first study only, so a single-objective report pays one load here)."""
    storage = open_existing_storage(url)
    names = experiment_studies(url, experiment)
    if not names:
        return {}
    first = optuna.load_study(study_name=names[0][0], storage=storage)
    if len(first.directions) < 2:
        return {}
    return {
        (method, seed): optuna.load_study(study_name=name, storage=storage)
        for name, method, seed in names
    }


def pareto_report(url: str, experiment: str) -> ParetoReport | None:
    """The comparison's hypervolumes per method; None when its studies have one objective."""
    studies = load(url, experiment)
    if not studies:
        return None
    first = next(iter(studies.values()))
    directions = [d.name.lower() for d in first.directions]
    metrics = first.metric_names or [f"objective {i}" for i in range(len(directions))]
    done = {key: _completed(study) for key, study in studies.items()}
    bounds = _bounds([t for trials in done.values() for t in trials], first.directions)
    report = ParetoReport(experiment, redact(url), metrics, directions, bounds, {})
    for (method, seed), trials in sorted(done.items()):
        losses = scaled([t.values for t in trials], first.directions, bounds)
        volume = hypervolume(losses, np.full(len(directions), REFERENCE)) if len(trials) else 0.0
        front = len(studies[(method, seed)].best_trials)
        report.studies.setdefault(method, []).append((seed, volume, front, len(trials)))
        report.trials.setdefault(method, []).extend(trials)
    report.rows = [_row(m, s) for m, s in report.studies.items()]
    report.tests = _pairwise(report.studies)
    return report


def _completed(study: optuna.Study) -> list[FrozenTrial]:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in trials if t.values and all(np.isfinite(t.values))]


def _bounds(
    trials: list[FrozenTrial], directions: list[StudyDirection]
) -> list[tuple[float, float]]:
    values = np.array([t.values for t in trials], dtype=float).reshape(-1, len(directions))
    out = []
    for column, direction in zip(values.T, directions, strict=True):
        lo, hi = (float(column.min()), float(column.max())) if len(column) else (0.0, 1.0)
        out.append((hi, lo) if direction == StudyDirection.MAXIMIZE else (lo, hi))
    return out


def scaled(values: Any, directions: list[StudyDirection], bounds: list[tuple[float, float]]):
    """Values as losses in [0, 1]: 0 at the best value seen, 1 at the worst."""
    array = np.array(values, dtype=float).reshape(-1, len(directions))
    out = np.empty_like(array)
    for i, (best, worst) in enumerate(bounds):
        span = worst - best
        out[:, i] = (array[:, i] - best) / span if span else 0.0
    return out


def _row(method: str, studies: list[tuple[int, float, int, int]]) -> dict[str, Any]:
    volumes = np.array([s[1] for s in studies])
    return {
        "method": method,
        "seeds": len(studies),
        "median": float(np.median(volumes)),
        "q25": float(np.percentile(volumes, 25)),
        "q75": float(np.percentile(volumes, 75)),
        "pareto_size": float(np.mean([s[2] for s in studies])),
        "completed": float(np.mean([s[3] for s in studies])),
    }


def _pairwise(studies: dict[str, list[tuple[int, float, int, int]]]) -> list[dict[str, Any]]:
    """One-sided Mann-Whitney U, "a has a higher hypervolume than b", for every ordered pair."""
    from scipy.stats import mannwhitneyu

    out = []
    for a, sa in studies.items():
        for b, sb in studies.items():
            va, vb = [s[1] for s in sa], [s[1] for s in sb]
            if a == b or len(va) < 2 or len(vb) < 2:
                continue
            test = mannwhitneyu(va, vb, alternative="greater")
            out.append(
                {"a": a, "b": b, "U": float(test.statistic), "p_better": float(test.pvalue)}
            )
    return out


def draw_fronts(report: ParetoReport, out: Path) -> None:
    """One PNG per method: all its completed trials (every seed), the Pareto front marked
    (optuna.visualization.matplotlib.plot_pareto_front)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization.matplotlib import plot_pareto_front

    if len(report.metrics) > 3:
        return
    for method, trials in report.trials.items():
        study = optuna.create_study(directions=report.directions)
        study.add_trials(trials)
        ax = plot_pareto_front(study, target_names=report.metrics)
        ax.set_title(
            f"{method}: {len(trials)} completed trials of {len(report.studies[method])} seeds"
        )
        name = f"pareto_{method}.png"
        ax.figure.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
        report.figures.append((name, f"Pareto front of {method}, all seeds together."))


def findings(report: ParetoReport) -> list[str]:
    """The setup and the verdicts, one line each."""
    ranges = "; ".join(
        f"{m} ({d}) from {best:.4g} (best) to {worst:.4g}"
        for m, d, (best, worst) in zip(
            report.metrics, report.directions, report.bounds, strict=True
        )
    )
    top = REFERENCE ** len(report.metrics)
    lines = [
        f"Objectives: {ranges}, as seen over all completed trials of the comparison.",
        f"Hypervolume per study on objectives scaled to [0, 1] (0 = best seen), reference "
        f"point {REFERENCE} in every objective; the highest possible is {top:.3g}.",
    ]
    for t in report.tests:
        if t["p_better"] < 0.05:
            lines.append(
                f"{t['a']} has a higher hypervolume than {t['b']} "
                f"(one-sided Mann-Whitney p = {t['p_better']:.2g}, uncorrected)."
            )
    if len(lines) == 2:
        lines.append(
            "No method has a significantly higher hypervolume than another "
            "(α = 0.05, uncorrected)."
        )
    return lines


def to_markdown(report: ParetoReport) -> str:
    lines = [
        f"# Multi-objective comparison `{report.experiment}`",
        "",
        f"Storage: `{report.storage}`",
        "",
    ]
    lines += ["## Findings", "", *(f"- {line}" for line in findings(report)), ""]
    lines += ["## Hypervolume per method (higher is better)", ""]
    lines += [
        "| method | seeds | median | IQR | Pareto set (mean) | completed trials (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.rows:
        lines.append(
            f"| {r['method']} | {r['seeds']} | {r['median']:.4g} | {r['q25']:.4g}–{r['q75']:.4g} "
            f"| {r['pareto_size']:.3g} | {r['completed']:.3g} |"
        )
    lines += ["", "## Figures", ""]
    lines += [f"![{caption}]({name})\n\n*{caption}*\n" for name, caption in report.figures]
    return "\n".join(lines)


def to_html(report: ParetoReport, out: Path) -> str:
    """The Markdown as one page, figures inlined (the report attached to the studies)."""
    import base64

    parts = ["<!doctype html><meta charset='utf-8'><pre style='white-space:pre-wrap'>"]
    parts.append(html.escape(to_markdown(report).split("## Figures")[0]) + "</pre>")
    for name, caption in report.figures:
        data = base64.b64encode((out / name).read_bytes()).decode()
        parts.append(
            f"<figure><img src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    return "\n".join(parts)


def write(report: ParetoReport, out: Path) -> None:
    (out / "report.md").write_text(to_markdown(report))
    (out / "report.html").write_text(to_html(report, out))
    data = {k: v for k, v in report.__dict__.items() if k != "trials"}
    (out / "summary.json").write_text(json.dumps(data, indent=1, default=str))
