"""The work clock parallel workers are scheduled on: a trial's work is the same in every run
(real Lightning fits), and asks and tells follow it whatever the timing."""

import math
from pathlib import Path

import optuna
import pytest

from hpo.config.run import RunConfig
from hpo.config.space import load_space
from hpo.search.objective import Objective
from hpo.search.parallel import ASK, TELL, Coordinator, Flying, JobResult, TrialJob
from hpo.search.work_model import PER_MINIBATCH, PER_TRIAL
from hpo.testing.helpers import write_space
from hpo.train.data import create_datamodule


def _work_of_fits(tmp_path: Path, url: str, batch_sizes: list[int]) -> list[list[float]]:
    """The work WorkMeter told, step by step, for one trial of each batch size (4 epochs)."""
    space = {
        "params": {"batch_size": {"type": "int", "low": 8, "high": 128}},
        "fixed": {"lr": 0.01, "optimizer": "adam"},
    }
    space_path = write_space(tmp_path, space)
    heard: list[list[float]] = []
    objective = Objective(
        RunConfig(max_epochs=4, space=str(space_path)),
        load_space(space_path),
        on_work=lambda seconds: heard[-1].append(seconds),
    )
    study = optuna.create_study(storage=url, direction="maximize")
    for batch_size in batch_sizes:
        study.enqueue_trial({"batch_size": batch_size})
        heard.append([])
        study.optimize(objective, n_trials=1)
    return heard


def test_a_fits_work_is_the_same_in_every_run_and_counts_its_mini_batches(
    tmp_path: Path, sqlite_url: str
) -> None:
    first, again, small = _work_of_fits(tmp_path, sqlite_url, [64, 64, 16])
    assert first == again and len(first) >= 8  # after each step and each validation, 4 epochs
    assert all(seconds > 0 for seconds in first)
    # batches of 16 instead of 64: the same values, in more mini-batches (4 epochs of them)
    datamodule = create_datamodule("digits", batch_size=64)
    datamodule.setup("fit")
    n = len(datamodule.splits.train[1])
    more = 4 * (math.ceil(n / 16) - math.ceil(n / 64))
    assert (sum(small) - sum(first)) / PER_MINIBATCH == pytest.approx(more)


class _Workers:
    """The part of WorkerPool the clock's bookkeeping reads: how many workers there are."""

    processes = [None, None]


def _job(number: int) -> TrialJob:
    return TrialJob(trial_id=number, number=number, told=frozenset())


def _ended(line: Coordinator, worker: int, work: float) -> float:
    """The worker's trial ended after `work` model seconds: its result held, as `collect`
    does (without the storage's claim)."""
    running = line.flying.pop(worker)
    end = running.start + PER_TRIAL + work
    line.clock[worker] = end
    line.held[running.job.number] = (running.job, JobResult(running.job.number), end)
    return end


def test_asks_and_tells_follow_the_work_clock_not_the_order_results_arrive() -> None:
    line = Coordinator(None, None, None, _Workers(), ())  # type: ignore[arg-type]
    assert line.next_event() == (ASK, 0)  # both free at 0: the first worker first
    line.flying[0] = Flying(_job(0), start=0.0)
    assert line.next_event() == (ASK, 1)  # trial 0 cannot end before PER_TRIAL
    line.flying[1] = Flying(_job(1), start=0.0)
    assert line.next_event() is None  # both busy

    # trial 1 comes back after 0.2 s of work while trial 0 has done 0.1: trial 0 may still end
    # first on the clock, so trial 1 is not told, nor worker 1 given a new trial, yet
    end_1 = _ended(line, 1, 0.2)
    line.flying[0].work = 0.1
    assert line.next_event() is None
    line.flying[0].work = 0.25  # trial 0 now ends after trial 1 did: tell 1, then ask for 1
    assert line.next_event() == (TELL, 1)
    line.held.pop(1)
    assert line.next_event() == (ASK, 1)
    line.flying[1] = Flying(_job(2), start=end_1)

    # trial 0 ends exactly where trial 2 would be asked on worker 0: the tell comes first
    line.flying[1].work = 1.0
    end_0 = _ended(line, 0, end_1 - PER_TRIAL)
    assert end_0 == end_1 and line.next_event() == (TELL, 0)

    # stopping (a signal, a timeout): held results are told at once, in clock order, though
    # the running trial 2 may still end before trial 5 did
    line.held[5] = (_job(5), JobResult(5), 99.0)
    line.stop = "timeout"
    assert line.next_event() == (TELL, 0)
    line.held.pop(0)
    assert line.next_event() == (TELL, 5)
