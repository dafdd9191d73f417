"""Storages by URL against the real services: SQLite, journal file, PostgreSQL, Redis.

Several real worker processes share one study: the total budget holds exactly, no storage
errors; dead workers' trials are failed and re-queued (heartbeat and dead-process rules).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

from hpo.cli import run_command
from hpo.errors import UsageError
from hpo.persist.internals import base_storage, heartbeat, set_user_attrs, trial_id
from hpo.persist.liveness import (
    ask_and_claim,
    claim_trial,
    claim_unless_finished,
    fail_lost_claims,
    stale_trial_numbers,
    sweep_stale,
)
from hpo.persist.storages import open_storage
from hpo.persist.urls import redact
from hpo.search.budget import Budget, run_to_budget
from hpo.testing.budget_worker import LIVENESS
from hpo.testing.helpers import cli_env

WORKER = ["-m", "hpo.testing.budget_worker"]


@pytest.fixture(params=["sqlite", "journal", "postgres", "redis"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    if request.param == "journal":
        return f"journal:///{tmp_path / 'study.log'}"
    return request.getfixturevalue(f"{request.param}_url")


def run_workers(url: str, study: str, n: int, budget: int, sleep: float) -> list[str]:
    procs = [
        subprocess.Popen(
            [sys.executable, *WORKER, url, study, str(budget), str(sleep), str(seed)],
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(n)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "locked" not in err, err
    return [out for out, _ in outputs]


def states(url: str, study: str) -> list[TrialState]:
    return [t.state for t in optuna.load_study(study_name=study, storage=open_storage(url)).trials]


def test_workers_hold_the_total_budget_exactly(storage_url: str) -> None:
    outputs = run_workers(storage_url, "exact", n=3, budget=10, sleep=0.05)
    assert states(storage_url, "exact") == [TrialState.COMPLETE] * 10
    assert sum(int(out.split()[1]) for out in outputs) == 10
    # A full study starts no trial at all.
    assert run_workers(storage_url, "exact", n=1, budget=10, sleep=0.05)[0].startswith("ran 0")
    assert len(states(storage_url, "exact")) == 10


def test_stale_heartbeat_trial_is_failed_and_requeued(storage_url: str) -> None:
    study = optuna.create_study(storage=open_storage(storage_url, LIVENESS), study_name="hb")
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    claim_trial(trial)  # this process is alive: only the heartbeat can declare it dead
    base_storage(study).record_heartbeat(trial_id(trial))  # the heartbeat thread's first beat
    sweep_stale(study)
    assert stale_trial_numbers(study) == set()
    assert study.trials[0].state == TrialState.RUNNING
    time.sleep(LIVENESS.grace_period + 1.5)  # no heartbeat thread runs for this trial
    assert stale_trial_numbers(study) == {0}
    sweep_stale(study)
    first, retry = study.trials
    assert first.state == TrialState.FAIL and retry.state == TrialState.WAITING
    assert retry.params == first.params and retry.system_attrs["failed_trial"] == 0


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "journal"])
def test_attrs_written_at_once_are_stored_and_a_finished_trial_refuses_them(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    urls = {"sqlite": f"sqlite:///{tmp_path / 'a.db'}", "journal": f"journal:///{tmp_path / 'a'}"}
    url = urls.get(kind) or request.getfixturevalue("postgres_url")
    study = optuna.create_study(storage=open_storage(url), study_name=f"attrs-{tmp_path.name}")
    trial = study.ask()
    trial.set_user_attr("kept", 1)
    statements: list[str] = []
    if kind != "journal":  # one upsert for all of them, after one check of the trial
        sqlalchemy.event.listen(
            base_storage(study).engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_a: statements.append(statement.split()[0]),
        )
    curve = [{"epoch": 0, "val_acc": 0.5}, {"epoch": 1, "val_acc": None}]
    set_user_attrs(trial, {"curve": curve, "kept": 2, "stop_reason": "completed"})
    assert statements == ([] if kind == "journal" else ["SELECT", "INSERT"])
    set_user_attrs(trial, {"stop_reason": "again"})
    expected = {"kept": 2, "curve": curve, "stop_reason": "again"}
    assert study.trials[0].user_attrs == expected == trial.user_attrs
    study.tell(trial, 1.0)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        set_user_attrs(trial, {"late": True})
    assert study.trials[0].user_attrs == expected


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_reports_are_one_upsert_read_back_as_optuna_writes_them(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`trial.report` on a relational storage: one state check and one upsert (LeanRDBStorage),
    the same rows Optuna's own write leaves (NaN, ±inf, a step reported again), the same
    errors for a finished or an unknown trial."""
    url = (
        f"sqlite:///{tmp_path / 'r.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    storage = open_storage(url)
    study = optuna.create_study(storage=storage, study_name=f"reports-{tmp_path.name}")
    trial = study.ask()
    statements: list[str] = []
    sqlalchemy.event.listen(
        base_storage(study).engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: statements.append(statement.split()[0]),
    )
    reports = [(0, 0.5), (1, float("nan")), (2, float("inf")), (3, float("-inf")), (4, 0.25)]
    for step, value in reports:
        trial.report(value, step)
    assert statements == ["SELECT", "INSERT"] * len(reports)
    base_storage(study).set_trial_intermediate_value(trial_id(trial), 4, 0.75)  # again: updated
    stored = study.trials[0].intermediate_values
    expected = {0: 0.5, 2: float("inf"), 3: float("-inf"), 4: 0.75}
    assert {k: v for k, v in stored.items() if k != 1} == expected and stored[1] != stored[1]
    # Optuna's own RDBStorage reads the same rows.
    plain = optuna.storages.RDBStorage(str(base_storage(study).engine.url))
    assert plain.get_trial(trial_id(trial)).intermediate_values.keys() == stored.keys()
    study.tell(trial, 1.0)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        base_storage(study).set_trial_intermediate_value(trial_id(trial), 5, 0.1)
    with pytest.raises(KeyError):
        base_storage(study).set_trial_intermediate_value(10**9, 0, 0.1)
    assert study.trials[0].intermediate_values.keys() == stored.keys()


def test_a_new_trial_turns_stale_though_its_worker_never_beat(storage_url: str) -> None:
    """hpo writes a trial's first heartbeat with the trial itself (relational storages: in the
    transaction that creates it): a worker that dies before its heartbeat thread ever beats
    still leaves a trial the next sweep fails (Optuna skips trials without a heartbeat row)."""
    study = optuna.create_study(storage=open_storage(storage_url, LIVENESS), study_name="born")
    trial = ask_and_claim(study)  # this process is alive: only the heartbeat can declare it dead
    assert stale_trial_numbers(study) == set()
    time.sleep(LIVENESS.grace_period + 1.5)  # no heartbeat thread runs for this trial
    assert stale_trial_numbers(study) == {trial.number}


def test_a_pooled_connection_the_server_ended_is_replaced_without_a_ping(
    postgres_url: str,
) -> None:
    """PostgreSQL: a pooled connection whose server session ended (as a restart ends them all)
    is replaced at checkout by looking at its socket, not by a `SELECT 1` per checkout."""
    psycopg = pytest.importorskip("psycopg")
    study = optuna.create_study(storage=open_storage(postgres_url), study_name="ended")
    engine = base_storage(study).engine
    statements: list[str] = []
    sqlalchemy.event.listen(
        engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    with engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(200):  # the session ends once its backend has exited
            if not admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone():
                break
            time.sleep(0.05)
    study.enqueue_trial({"x": 1.0})  # would fail on the ended session without a replacement
    assert [t.state for t in study.trials] == [TrialState.WAITING]
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    assert not [s for s in statements if s.strip().upper() == "SELECT 1"], "pinged"


def test_a_short_trial_writes_its_heartbeat_row_once(tmp_path: Path) -> None:
    """The heartbeat row is written with the trial, by the thread that creates it, and the
    heartbeat thread does not beat at once (one write less per trial); a trial longer than
    the interval still beats on time, from the heartbeat thread."""
    study = optuna.create_study(
        storage=open_storage(f"sqlite:///{tmp_path / 'b.db'}", LIVENESS), study_name="rows"
    )
    writes: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "trial_heartbeats" in statement and not statement.lstrip().startswith("SELECT"):
            writes.append(f"{statement.split()[0]} {threading.current_thread().name}")

    sqlalchemy.event.listen(base_storage(study).engine, "before_cursor_execute", count)
    run_to_budget(study, lambda trial: trial.suggest_float("x", 0, 1), Budget(3))
    assert writes == ["INSERT MainThread"] * 3
    run_to_budget(study, lambda _: time.sleep(LIVENESS.heartbeat_interval + 0.5) or 0.0, Budget(4))
    assert writes == ["INSERT MainThread"] * 4 + ["UPDATE hpo-beat"]


def test_the_trial_a_tell_returns_is_the_trial_stored(tmp_path: Path) -> None:
    """`tell` builds a finished trial from what its process wrote instead of reading it back:
    it must be what the storage holds (pruned and complete trials, reports, attrs)."""
    study = optuna.create_study(
        storage=open_storage(f"sqlite:///{tmp_path / 'b.db'}", LIVENESS), study_name="told"
    )
    told: list[optuna.trial.FrozenTrial] = []

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.set_user_attr("note", trial.number)
        for step in range(3):
            trial.report(x * step, step)
        if trial.number % 2:
            raise optuna.TrialPruned()
        return x

    run_to_budget(study, objective, Budget(4), callbacks=[lambda _s, t: told.append(t)])
    assert [t.state for t in told] == [TrialState.COMPLETE, TrialState.PRUNED] * 2
    for mine, stored in zip(told, study.trials, strict=True):
        assert mine.datetime_complete and stored.datetime_complete
        delta = abs((mine.datetime_complete - stored.datetime_complete).total_seconds())
        assert delta < 1.0
        mine.datetime_complete = stored.datetime_complete
        assert mine == stored
        for field in ("params", "user_attrs", "intermediate_values", "values", "system_attrs"):
            assert getattr(mine, field) == getattr(stored, field), field


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_heartbeat_keeps_a_long_trial_alive_and_ends_with_its_block(
    kind: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}" if kind == "sqlite" else f"journal:///{tmp_path / 'b'}"
    study = optuna.create_study(storage=open_storage(url, LIVENESS), study_name="beat")
    first = study.ask()
    claim_trial(first)
    with heartbeat(study, first):
        time.sleep(LIVENESS.grace_period + 1.5)  # without beats it would be stale by now
        assert stale_trial_numbers(study) == set()
        threads = set(threading.enumerate())
    second = study.ask()
    claim_trial(second)
    with heartbeat(study, second):  # the same heartbeat thread serves the next trial
        assert set(threading.enumerate()) == threads
    time.sleep(LIVENESS.grace_period + 1.5)
    assert first.number in stale_trial_numbers(study)  # no beat after its block ended


def test_dead_local_worker_is_detected_without_waiting(
    storage_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = subprocess.run(
        [sys.executable, *WORKER, storage_url, "dead", "--claim-and-die"], env=cli_env()
    )
    assert proc.returncode == -9
    study = optuna.load_study(study_name="dead", storage=open_storage(storage_url, LIVENESS))
    assert stale_trial_numbers(study) == {0}
    assert run_command("status", ["--storage", storage_url, "--study-name", "dead"]) == 0
    shown = capsys.readouterr().out
    assert "dead: 1 trials — 1 running" in shown and "running #0 on" in shown
    assert "STALE" in shown
    sweep_stale(study)  # well within the grace period
    first, retry = study.trials
    assert first.state == TrialState.FAIL and "died" in first.user_attrs["stop_reason"]
    assert retry.state == TrialState.WAITING and retry.params == first.params
    assert run_command("status", ["--storage", storage_url, "--study-name", "dead"]) == 0
    shown = capsys.readouterr().out
    assert "1 fail, 1 waiting" in shown and "queued: 1 trial(s)" in shown


def test_lost_claims_spare_handed_out_trials_and_a_finished_trial_is_not_claimed(
    tmp_path: Path,
) -> None:
    """A coordinator redoing a claim after a storage fault re-queues its own lost trials, not
    those it handed to workers; a trial that ended meanwhile (failed and re-queued by its
    worker after the fault) is not claimed again, nor is the claim an error."""
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}", LIVENESS)
    study = optuna.create_study(storage=storage, study_name="claims")
    lost, handed_out = ask_and_claim(study), ask_and_claim(study)
    assert fail_lost_claims(study, keep={trial_id(handed_out)}) == [lost.number]
    states_now = [t.state for t in study.trials]
    assert states_now == [TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING]
    assert claim_unless_finished(study, trial_id(handed_out), trained_by=1)
    assert not claim_unless_finished(study, trial_id(lost), trained_by=1)
    assert "trained_by" not in study.trials[0].system_attrs


def test_opening_a_sqlite_file_again_keeps_this_processes_sqlite_locks(tmp_path: Path) -> None:
    """A second open of a file this process already uses must not drop SQLite's shared lock on
    `<db>-shm` (closing any descriptor of a file drops all the process's locks on it): without
    the lock, the next process to open the database truncates `-shm` under this one (SIGBUS)."""
    path = tmp_path / "study.db"
    study = optuna.create_study(storage=open_storage(f"sqlite:///{path}"), study_name="locks")
    study.ask()  # a connection stays open in the pool, holding its lock on -shm
    open_storage(f"sqlite:///{path}")  # e.g. a study note's or a report's second open
    probe = (  # another process asks the kernel, as SQLite does: is byte 128 (DMS) in use?
        "import sys; from pathlib import Path; from hpo.persist.sqlite_file import "
        "_lock_byte_taken; print(_lock_byte_taken(Path(sys.argv[1]), 128))"
    )
    shm = f"{path}-shm"
    answer = subprocess.run([sys.executable, "-c", probe, shm], capture_output=True, text=True)
    assert answer.stdout.strip() == "True", answer.stderr
    study.ask()  # and this process's connection still works


def test_bad_liveness_settings_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="grace-period"):
        open_storage(f"sqlite:///{tmp_path}/x.db", type(LIVENESS)(10, 5))
    assert redact("redis://:pw@host:6379/0?prefix=a") == "redis://:***@host:6379/0?prefix=a"
