"""Report a comparison run by `hpo compare`: Markdown + HTML + PNG figures + summary.json.

    runs = load_runs(storage, "cmp")
    report = collect(runs, storage, "cmp", target=None, reference="random")
    draw(runs, report, out); write(report, out)                      # what `hpo report` does

Reads the storage only; never trains. report.html is self-contained (its figures inline), so
the copy `hpo report` attaches to the studies (hpo.analysis.publish) shows them too.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo.analysis.results import (
    ALPHA,
    Run,
    by_method,
    default_target,
    pairwise,
    ranking,
    summarise,
)
from hpo.persist.urls import redact


@dataclass
class Report:
    """Everything the documents say, as plain data (also written as summary.json)."""

    experiment: str
    storage: str
    metric: str
    direction: str
    target: float
    reference: str
    rows: list[dict[str, Any]]
    tests: list[dict[str, Any]]
    headlines: list[str]
    setup: list[str]
    figures: list[tuple[str, str]]  # (file name, caption)
    retrained: dict[str, dict[str, Any]] | None = None
    ranking: dict[str, Any] = field(default_factory=dict)  # results.ranking


def _fmt(v: object, digits: int = 4) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        if abs(v) < 1e-12:
            return "0"
        return f"{v:.{digits}g}"
    return str(v)


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def setup_lines(runs: Sequence[Run]) -> list[str]:
    """How the comparison was run, from what compare stored on each study."""
    first = runs[0].attrs
    config, compare = first.get("config", {}), first.get("compare", {})
    budget = compare.get("budget", {})
    groups = by_method(runs)
    lines = [
        f"Objective: `{compare.get('objective', 'train')}`; dataset `{config.get('dataset')}`, "
        f"model `{config.get('model')}`, ≤ {config.get('max_epochs')} epochs per trial, metric "
        f"`{config.get('metric')}`"
        + (f" (cap {config.get('cap')})" if config.get("cap") else "")
        + f", pruner `{config.get('pruner')}` (startup {config.get('pruner_startup')}, "
        f"warm-up {config.get('pruner_warmup')} epochs).",
        f"Budget per study: {_fmt(float(budget.get('amount', math.nan)))} "
        f"{budget.get('unit', 'trials')} (finished trials; pruned trials count the epochs "
        "they trained). Methods × seeds: "
        + ", ".join(f"{m} × {len(g)}" for m, g in groups.items())
        + ".",
        "Every method searches the same space; each (method, seed) study has its own sampler "
        "seed (`seed × 1000 + crc32(method) mod 1000`), so TPE's 10 random start-up trials do "
        "not replay RandomSampler's proposals. Data split and weight initialisation use the "
        "seed itself, identical across methods.",
    ]
    lines += table_lines(compare.get("table"))
    pruners = {r.method: r.attrs.get("config", {}).get("pruner") for r in runs}
    if len(set(pruners.values())) > 1:
        lines.append(
            "Pruners differ by method: "
            + ", ".join(f"{m} `{p}`" for m, p in sorted(pruners.items()))
            + "."
        )
    grids = {json.dumps(r.attrs.get("compare", {}).get("grid")) for r in groups.get("grid", [])}
    for g in grids:
        info = json.loads(g) if g != "null" else None
        if info:
            lines.append(
                f"Grid: {info['points']} points per continuous axis (log-spaced for log axes), "
                f"{info['size']} grid points in all, chosen as the size nearest the budget on "
                "a log scale; GridSampler visits them in a per-seed shuffled order, so when "
                "the grid exceeds the budget the trials are a random subset of the lattice."
            )
    return lines


def table_lines(table: dict[str, Any] | None) -> list[str]:
    """What answered the trials of a replay comparison, and how faithfully."""
    if not table:
        return []
    line = f"Replay table ({table['kind']}, {table['fits']} real fits): {table['answers']}."
    held = table.get("held_out") or {}
    if held:
        line += (
            f" Against {held['n']} held-out real fits: final val_acc Spearman "
            f"{held['final_val_acc_spearman']:.3f} (over the {held.get('n_learned', '?')} that "
            f"learned: {held.get('final_val_acc_spearman_learned', math.nan):.3f}), mean "
            "absolute error "
            f"{held['final_val_acc_mae']:.4f}; whole val_acc curves MAE "
            f"{held['curve_val_acc_mae']:.4f}."
        )
    return [line]


def headline_lines(report_rows, tests, ranks, target, reference) -> list[str]:
    """Each method against the reference, after Holm's correction; what reaching the
    reference's median took; the Friedman test on the ranks."""
    rows = {r["method"]: r for r in report_rows}
    out = [verdict_line(method, reference, rows, tests) for method in rows if method != reference]
    out += [reach_line(m, reference, rows, target) for m in rows if m != reference]
    if ranks:
        best = min(ranks["ranks"], key=ranks["ranks"].get)
        out.append(
            f"Average rank over {ranks['seeds']} seeds (1 = best): {best} first at "
            f"{ranks['ranks'][best]:.2f}; Friedman χ² = {_fmt(ranks['friedman_chi2'])}, "
            f"p = {_p(ranks['friedman_p'])}; Nemenyi critical difference {ranks['cd']:.2f}."
        )
    return out


def verdict_line(method: str, reference: str, rows, tests) -> str:
    """'**tpe beats random** …', '… is worse than …' or '… does not differ …', Holm-corrected."""
    pair = next((t for t in tests if {t["a"], t["b"]} == {method, reference}), None)
    if pair is None:
        return f"{method}: too few seeds to test against {reference}."
    a12 = pair["A"] if pair["a"] == method else 1.0 - pair["A"]
    if pair["winner"] == method:
        verdict = f"**{method} beats {reference}**"
    elif pair["winner"] == reference:
        verdict = f"**{method} is worse than {reference}**"
    else:
        verdict = f"{method} does not differ significantly from {reference}"
    return (
        f"{verdict}: median best {_fmt(rows[method]['median'])} vs "
        f"{_fmt(rows[reference]['median'])}; Mann-Whitney p = {_p(pair['p_two_sided'])}, "
        f"Holm-corrected over {len(tests)} pairs p = {_p(pair['p_holm'])}; "
        f"A = {a12:.2f} ({pair['magnitude']}), {rows[method]['seeds']} vs "
        f"{rows[reference]['seeds']} seeds (α = {ALPHA})."
    )


def reach_line(method: str, reference: str, rows, target: float) -> str:
    """How many trials and epochs a method needed to reach the reference's median final best."""
    row = rows[method]
    if not row["reached"]:
        return (
            f"{method} never reaches {reference}'s median final best ({_fmt(target)}) "
            f"in any of its {row['seeds']} seeds."
        )
    spent = (
        f"{_fmt(rows[reference]['trials'])} trials, {_fmt(rows[reference]['epochs'])} epochs"
        if reference in rows
        else "?"
    )
    return (
        f"{method} reaches {reference}'s median final best ({_fmt(target)}, after {spent}) in a "
        f"median of {_fmt(row['trials_to_target'])} trials and "
        f"{_fmt(row['epochs_to_target'])} epochs; {row['reached']} of {row['seeds']} seeds "
        "reach it."
    )


def collect(
    runs: Sequence[Run], storage: str, experiment: str, target: float | None, reference: str
) -> Report:
    methods = by_method(runs)
    reference = reference if reference in methods else next(iter(methods))
    target = default_target(runs, reference) if target is None else target
    rows = summarise(runs, target)
    tests = pairwise(runs)
    ranks = ranking(runs)
    config = runs[0].attrs.get("config", {})
    metric = config.get("metric", "value")
    return Report(
        experiment,
        redact(storage),
        metric,
        runs[0].direction,
        target,
        reference,
        rows,
        tests,
        headline_lines(rows, tests, ranks, target, reference),
        setup_lines(runs),
        [],
        ranking=ranks,
    )


def draw(runs: Sequence[Run], report: Report, out: Path) -> None:
    from hpo.analysis import plots

    trials = [t for r in runs for t in r.trials]
    names = sorted({n for t in trials for n in t.params})
    drawn = [
        (
            plots.best_so_far(runs, report.metric, out / "best_so_far.png"),
            "Best value so far: median over seeds with interquartile band, vs trial number and "
            "vs cumulative epochs.",
        ),
        (
            plots.valley(trials, report.metric, out / "valley.png"),
            "Learning rate × optimizer valley over all trials of all methods (seed 003).",
        ),
        (
            plots.histograms(trials, names, report.metric, out / "histograms.png"),
            "Distribution of the metric for each value of each hyperparameter (seed 004).",
        ),
        (
            plots.scatter3d(trials, names, report.metric, out / "scatter3d.png"),
            "Learning rate × second hyperparameter × metric (seed 004).",
        ),
        (
            plots.critical_difference(report.ranking, out / "critical_difference.png"),
            "Average rank of each method over seeds (1 = best); methods joined by a bar do not "
            "differ by the Nemenyi critical difference (CD, α = 0.05).",
        ),
        (
            plots.importances(importances(runs), out / "importances.png"),
            "Optuna fANOVA parameter importances, over all completed trials of each method.",
        ),
    ]
    report.figures = [(p.name, caption) for p, caption in drawn if p is not None]


def importances(runs: Sequence[Run]) -> dict[str, dict[str, float]]:
    """fANOVA importances per method, on one in-memory study holding all its completed trials."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = {}
    for method, group in by_method(runs).items():
        done = [t for r in group for t in r.trials if t.state == TrialState.COMPLETE]
        if len(done) < 4 or len({n for t in done for n in t.params}) < 2:
            continue
        study = optuna.create_study(direction=group[0].direction)
        study.add_trials(done)
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        try:
            out[method] = optuna.importance.get_param_importances(study, evaluator=evaluator)
        except (ValueError, RuntimeError):  # e.g. every trial has the same value
            continue
    return out


# ---------------------------------------------------------------- documents

COLUMNS = [
    ("method", "method"),
    ("seeds", "seeds"),
    ("mean", "mean"),
    ("std", "± std"),
    ("median", "median"),
    ("median_ci", "median 95 % CI"),
    ("min", "min"),
    ("max", "max"),
    ("trials", "trials"),
    ("pruned", "pruned"),
    ("failed", "failed"),
    ("epochs", "epochs used"),
    ("trials_to_target", "trials to target (median)"),
    ("epochs_to_target", "epochs to target (median)"),
    ("reached", "seeds reaching target"),
]


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v, 3)}" for k, v in params.items())


def table_cells(report: Report) -> tuple[list[str], list[list[str]]]:
    head = [label for _, label in COLUMNS]
    body = [[_cell(row, key) for key, _ in COLUMNS] for row in report.rows]
    return head, body


def _cell(row: dict[str, Any], key: str) -> str:
    if key == "median_ci":
        return f"[{_fmt(row['median_low'])}, {_fmt(row['median_high'])}]"
    return _fmt(row[key])


def test_cells(report: Report) -> tuple[list[str], list[list[str]]]:
    head = ["method 1", "method 2", "U", "p", "p (Holm)", "A (1 over 2)", "effect", "better"]
    body = [
        [
            t["a"], t["b"], f"{t['U']:g}", _p(t["p_two_sided"]), _p(t["p_holm"]),
            f"{t['A']:.2f}", t["magnitude"], t["winner"] or "—",
        ]
        for t in report.tests
    ]  # fmt: skip
    return head, body


TESTS_NOTE = (
    "Two-sided Mann-Whitney U on the final best values of every pair of methods; p (Holm) is "
    "corrected for all the pairs at once (Holm's step-down method); A is Vargha and Delaney's "
    "effect size, the probability that a seed of method 1 ends better than a seed of method 2 "
    "(ties half; 0.5 = no difference; small ≥ 0.56, medium ≥ 0.64, large ≥ 0.71, or the mirror "
    "below 0.5); `better` names the better method where the corrected p < α."
)


def ranking_cells(report: Report) -> tuple[list[str], list[list[str]]]:
    ranks = report.ranking.get("ranks", {})
    return ["method", "average rank"], [
        [m, f"{r:.2f}"] for m, r in sorted(ranks.items(), key=lambda kv: kv[1])
    ]


def ranking_note(report: Report) -> str:
    r = report.ranking
    if not r:
        return "Too few common seeds to rank the methods."
    groups = "; ".join(", ".join(g) for g in r["cliques"]) or "none"
    return (
        f"Ranks of the final best values within each of the {r['seeds']} seeds every method "
        f"ran (1 = best, ties averaged). Friedman χ² = {_fmt(r['friedman_chi2'])}, "
        f"p = {_p(r['friedman_p'])}; Nemenyi critical difference CD = {r['cd']:.2f} "
        f"(α = {ALPHA}): methods whose average ranks differ by less are not told apart. "
        f"Groups within one CD: {groups}."
    )


def to_markdown(report: Report) -> str:
    def table(head: list[str], body: list[list[str]]) -> list[str]:
        return [
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
            *("| " + " | ".join(r) + " |" for r in body),
            "",
        ]

    best = "highest" if report.direction == "maximize" else "lowest"
    lines = [f"# Comparison `{report.experiment}`", "", f"Storage: `{report.storage}`", ""]
    lines += ["## Setup", "", *(f"- {s}" for s in report.setup), ""]
    lines += ["## Findings", "", *(f"- {h}" for h in report.headlines), ""]
    lines += [
        f"## Final best {report.metric} per method ({best} is better)",
        "",
        f"Statistics over seeds of each study's best value. Trials, pruned, failed and epochs "
        f"are means per study. Target = {report.reference}'s median final best "
        f"({_fmt(report.target)}).",
        "",
    ]
    lines += table(*table_cells(report))
    lines += ["## Pairwise Mann-Whitney U tests, Holm-corrected (final best values)", ""]
    lines += [TESTS_NOTE, ""]
    lines += table(*test_cells(report))
    lines += ["## Average ranks over seeds (Friedman, Nemenyi)", "", ranking_note(report), ""]
    lines += table(*ranking_cells(report))
    if report.retrained:
        lines += ["## Best configurations retrained, scored on the test split", ""]
        head = ["method", "params", "from", f"val {report.metric}", "test_acc"]
        body = [
            [m, _params(r["params"]), f"{r['study']} #{r['trial']}", _fmt(r["val_value"]),
             _fmt(r["test_acc"])]
            for m, r in report.retrained.items()
        ]  # fmt: skip
        lines += table(head, body)
    lines += ["## Figures", ""]
    for name, caption in report.figures:
        lines += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    return "\n".join(lines)


def to_html(report: Report, figures_dir: Path | None = None) -> str:
    """The report as one HTML page; figures read from `figures_dir` are inlined."""

    def table(head: list[str], body: list[list[str]]) -> str:
        th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        trs = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body
        )
        return f"<table><tr>{th}</tr>{trs}</table>"

    def md_inline(text: str) -> str:
        import re

        text = html.escape(text)
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", text)

    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>Comparison {html.escape(report.experiment)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}img{max-width:100%}</style>",
        f"<h1>Comparison <code>{html.escape(report.experiment)}</code></h1>",
        f"<p>Storage: <code>{html.escape(report.storage)}</code></p><h2>Setup</h2><ul>",
        *(f"<li>{md_inline(s)}</li>" for s in report.setup),
        "</ul><h2>Findings</h2><ul>",
        *(f"<li>{md_inline(h)}</li>" for h in report.headlines),
        f"</ul><h2>Final best {html.escape(report.metric)} per method</h2>",
        table(*table_cells(report)),
        "<h2>Pairwise Mann-Whitney U tests, Holm-corrected</h2>",
        f"<p>{md_inline(TESTS_NOTE)}</p>",
        table(*test_cells(report)),
        "<h2>Average ranks over seeds (Friedman, Nemenyi)</h2>",
        f"<p>{md_inline(ranking_note(report))}</p>",
        table(*ranking_cells(report)),
        *(
            [
                "<h2>Best configurations retrained, scored on the test split</h2>",
                table(
                    ["method", "params", "val", "test_acc"],
                    [
                        [m, _params(r["params"]), _fmt(r["val_value"]), _fmt(r["test_acc"])]
                        for m, r in report.retrained.items()
                    ],
                ),
            ]
            if report.retrained
            else []
        ),
        "<h2>Figures</h2>",
        *(
            f"<figure><img src='{_image_source(n, figures_dir)}' alt='{html.escape(c)}'>"
            f"<figcaption>{html.escape(c)}</figcaption></figure>"
            for n, c in report.figures
        ),
    ]
    return "\n".join(parts)


def _image_source(name: str, figures_dir: Path | None) -> str:
    if figures_dir is None or not (figures_dir / name).is_file():
        return name
    return "data:image/png;base64," + base64.b64encode((figures_dir / name).read_bytes()).decode()


def write(report: Report, out: Path) -> None:
    (out / "report.md").write_text(to_markdown(report))
    (out / "report.html").write_text(to_html(report, out))
    data = {k: v for k, v in report.__dict__.items()}
    (out / "summary.json").write_text(json.dumps(data, indent=1, default=str))
