"""The LR range test: a real exponential sweep with Lightning's Tuner, its plot and suggestion."""

from __future__ import annotations

import numpy as np
import pytest

from hpo.config.run import RunConfig
from hpo.study import main as study_main
from hpo.testing.helpers import run_cli
from hpo.train.lr_find import range_test, suggest, unbiased


def test_range_test_sweeps_exponentially_and_suggests_a_descending_lr(tmp_path):
    plot = tmp_path / "lr.png"
    result = range_test(
        RunConfig(), {"width": 2, "batch_size": 32}, min_lr=1e-5, max_lr=1.0, steps=40, plot=plot
    )
    ratios = np.diff(np.log(result.lrs))
    assert len(result.lrs) >= 20 and np.allclose(ratios[1:], ratios[1], rtol=1e-3)  # exponential
    assert result.lrs[0] == pytest.approx(1e-5, rel=0.5)
    assert result.suggestion is not None and 1e-5 < result.suggestion < 1.0
    i = result.lrs.index(result.suggestion)
    assert result.losses[i] < result.losses[0]  # the loss is falling there
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unbiased_undoes_lightnings_off_by_one_debiasing():
    beta, true_loss, avg, recorded = 0.98, 2.0, 0.0, []
    for k in range(30):  # what Lightning's _LRCallback records for a constant loss
        avg = beta * avg + (1 - beta) * true_loss
        recorded.append(avg / (1 - beta ** (k + 2)))
    assert recorded[0] == pytest.approx(1.01, rel=0.01)  # about half the true loss
    assert unbiased(recorded) == pytest.approx([true_loss] * 30)


def test_suggest_points_at_the_steepest_descent_before_the_minimum():
    lrs = list(np.geomspace(1e-6, 10, 70))
    losses = [2.3 if lr < 1e-3 else 2.3 - 0.5 * np.log10(lr / 1e-3) for lr in lrs]
    losses = [loss if lr < 0.1 else 5.0 for loss, lr in zip(losses, lrs, strict=True)]
    losses[30] -= 0.001  # noise in the flat part must not win
    assert 1e-3 <= suggest(lrs, losses) < 0.1
    assert suggest(lrs, sorted(losses)) is None  # only rising: nothing to suggest


def test_suggest_never_returns_the_minimum_itself():
    """A curve that falls ever faster into its minimum, then blows up (the usual shape): the
    steepest point before the minimum is the one just before it, and that is the answer."""
    x = np.linspace(-6, 1, 71)
    lowest = int(np.argmin(abs(x + 2)))  # the minimum at lr = 1e-2
    losses = [2.3 - 0.1 * (v + 6) ** 2 if i <= lowest else 5.0 for i, v in enumerate(x)]
    lrs = list(10**x)
    assert suggest(lrs, losses) == pytest.approx(lrs[lowest - 1])
    assert suggest(lrs, losses) < lrs[lowest]


def test_cli_prints_the_suggestion_and_writes_the_plot(tmp_path, capsys):
    plot = tmp_path / "p.png"
    args = ["lr_find", "--steps", "30", "--set", "width=2", "--plot", str(plot)]
    assert study_main(args) == 0
    assert "Suggested learning rate:" in capsys.readouterr().out and plot.exists()
    bad = run_cli("hpo.lr_find", "--set", "nonsense", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "NAME=VALUE" in bad.stderr
