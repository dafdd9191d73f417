"""Storage faults met by real `hpo study` processes: a PostgreSQL or Redis server of the test's
own restarted or stopped mid-study, a full disk under the checkpoints, a corrupt or locked
SQLite file. Workers wait for the server and carry on (hpo.persist.retry), or stop with one line;
a rerun then finishes the exact budget with nothing lost and nothing left RUNNING."""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hpo.persist.storages import open_storage
from hpo.testing.helpers import cli_env, file_digest, run_cli
from hpo.testing.services import own_postgres, own_redis

PASSWORD = "s3cret-pw"
N_TRIALS = 9


def study_args(url: str, space: Path, tmp_path: Path, n: int = N_TRIALS) -> list[str]:
    return [
        *("--n-trials", str(n), "--max-epochs", "4", "--pruner", "none"),
        *("--space", str(space), "--storage", url, "--study-name", "faults"),
        *("--checkpoint-every", "1ep", "--checkpoint-dir", str(tmp_path / "ckpt")),
    ]


def start(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hpo.study", *args], cwd=cwd, env=cli_env() | env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@functools.cache
def storage(url: str) -> optuna.storages.BaseStorage:
    """One storage (one connection pool) per URL for all of the test's reads."""
    return open_storage(url)


def load(url: str) -> optuna.Study:
    return optuna.load_study(study_name="faults", storage=storage(url))


def completed(url: str) -> dict[int, float]:
    return {t.number: t.value for t in load(url).get_trials(states=(TrialState.COMPLETE,))}


def wait_until(what: Callable[[], bool], procs: list[subprocess.Popen[str]], timeout=600) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.2)


def mid_study(url: str) -> Callable[[], bool]:
    """Two trials completed and one running with an epoch checkpointed and 2 of its 4 still
    to train (this test's trials are all as long: workers start and end them together, so one
    seen at its last epoch may end before a crash lands)."""

    def ready() -> bool:
        with contextlib.suppress(Exception):  # the study may not exist yet
            study = load(url)
            running = study.get_trials(states=(TrialState.RUNNING,))
            done = study.get_trials(states=(TrialState.COMPLETE,))
            return len(done) >= 2 and any(1 <= len(t.intermediate_values) <= 2 for t in running)
        return False

    return ready


def assert_clean(stderr: str) -> None:
    """No traceback, and the password never shown."""
    assert "Traceback" not in stderr, stderr
    assert PASSWORD not in stderr, stderr


def assert_exact(url: str, before: dict[int, float]) -> list[optuna.trial.FrozenTrial]:
    """The budget rule: COMPLETE + PRUNED = N_TRIALS (failed trials do not count and were
    re-queued); nothing RUNNING or WAITING; the trials completed `before` unchanged."""
    trials = load(url).trials
    states = Counter(t.state.name for t in trials)
    assert states["COMPLETE"] + states["PRUNED"] == N_TRIALS, states
    assert states["RUNNING"] == states["WAITING"] == 0, states
    assert before.items() <= completed(url).items()
    return trials


@pytest.fixture
def postgres() -> Iterator:
    with own_postgres() as server:
        server.createdb("hpo")
        yield server


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator:
    pytest.importorskip("redis")
    with own_redis(tmp_path / "redis") as server:
        yield server


def test_a_study_lock_lost_to_a_restart_fails_the_trial_created_under_it(postgres) -> None:
    """The race behind a budget overrun seen in CI: a holder whose lock went with the server
    carries on through a new connection while another process may lock, count and create."""
    from hpo.persist.liveness import claim_window
    from hpo.persist.retry import LockLost

    storage = open_storage(postgres.url("hpo", password=PASSWORD))
    study = optuna.create_study(storage=storage, study_name="lost-lock")
    with pytest.raises(LockLost), claim_window(study) as window:
        postgres.restart(down_for=1)  # the lock's session ends with the server
        window.ask()  # created through a new connection, no longer under the lock
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL]  # not run, not re-queued
    with claim_window(study) as window:  # a new session locks again, and a claim under it stands
        window.ask()
    assert study.get_trials()[-1].state == TrialState.RUNNING


def test_a_grid_point_given_under_a_lost_lock_is_queued_again(postgres) -> None:
    """The trial is failed, and GridSampler takes a failed trial's point for visited: the
    point is re-queued, and the grid runs whole."""
    from hpo.config.space import parse_space
    from hpo.persist.liveness import claim_window
    from hpo.persist.retry import LockLost
    from hpo.search.budget import Budget, run_to_budget
    from hpo.search.samplers import create_sampler

    points = [0, 1, 2]
    grid = {"x": {"type": "categorical", "choices": points}}
    study = optuna.create_study(
        storage=open_storage(postgres.url("hpo", password=PASSWORD)),
        study_name="lost-grid",
        sampler=create_sampler("grid", parse_space({"params": grid}), seed=0),
    )
    with pytest.raises(LockLost), claim_window(study) as window:
        postgres.restart(down_for=1)
        window.ask()
    states = [(t.state, t.system_attrs.get("grid_id")) for t in study.get_trials()]
    lost = states[0][1]
    assert states == [(TrialState.FAIL, lost), (TrialState.WAITING, lost)] and lost is not None
    outcome = run_to_budget(study, lambda t: t.suggest_categorical("x", points), Budget(10))
    assert outcome.stopped_because == "grid exhausted"
    done = [t.params["x"] for t in study.get_trials(states=(TrialState.COMPLETE,))]
    assert sorted(done) == [0, 1, 2]


@pytest.mark.slow  # 3 worker processes training at once: minutes; CI runs it
def test_postgres_restart_mid_study_three_workers_carry_on(
    postgres, tmp_path: Path, slow_space: Path
) -> None:
    url = postgres.url("hpo", password=PASSWORD)
    args = study_args(url, slow_space, tmp_path)
    procs = [start(args, tmp_path) for _ in range(3)]  # 3 workers on one study
    wait_until(mid_study(url), procs)
    before = completed(url)
    postgres.restart(down_for=10)  # pg_ctl stop -m fast: every session is closed
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert_clean(err)
    said = "".join(err for _, err in outputs)
    assert "unreachable" in said and "retrying for up to 60 s" in said, said
    assert_exact(url, before)
    rerun = run_cli("hpo.study", *args, cwd=tmp_path)  # the rerun has nothing to add
    assert rerun.returncode == 0 and "already done" in rerun.stdout, rerun.stderr
    assert_exact(url, before)


@pytest.mark.slow  # 3 worker processes training at once: minutes; CI runs it
def test_postgres_down_too_long_stops_with_one_line_and_a_rerun_finishes(
    postgres, tmp_path: Path, slow_space: Path
) -> None:
    url = postgres.url("hpo", password=PASSWORD)
    args = [*study_args(url, slow_space, tmp_path), "--workers", "3"]
    proc = start(args, tmp_path, HPO_STORAGE_PATIENCE="5")
    wait_until(mid_study(url), [proc])
    before = completed(url)
    postgres.stop("immediate")  # a crash, and it stays down
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 2, err
    assert_clean(err)
    last = err.strip().splitlines()[-1]
    assert "hpo.study: error: storage postgresql://root:***@127.0.0.1:" in last, err
    assert "unreachable for" in last and "rerun the same command to resume" in last, err
    postgres.start()
    rerun = run_cli("hpo.study", *args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    trials = assert_exact(url, before)
    stopped = [t for t in trials if t.state == TrialState.FAIL]
    assert stopped  # the trials the crash cut short, re-queued and run again
    assert all("died" in t.user_attrs["stop_reason"] for t in stopped), stopped


@pytest.mark.slow  # 3 worker processes training at once: minutes; CI runs it
def test_redis_restart_mid_study_three_workers_carry_on(
    redis_server, tmp_path: Path, slow_space: Path
) -> None:
    url = redis_server.url("faults")
    args = study_args(url, slow_space, tmp_path)
    procs = [start(args, tmp_path) for _ in range(3)]
    wait_until(mid_study(url), procs)
    before = completed(url)
    redis_server.restart(down_for=3)  # SIGKILL; the append-only file keeps the journal
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert_clean(err)
    assert_exact(url, before)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs under tmp_path (unmounted afterwards)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow  # a study of 3 trials and more: a minute or two; CI runs it
def test_full_disk_under_checkpoints_fails_the_trial_and_the_study_goes_on(
    tmp_path: Path, small_disk: Path, slow_space: Path, sqlite_url: str
) -> None:
    ballast = small_disk / "ballast"
    with contextlib.suppress(OSError), open(ballast, "wb") as fill:
        while True:  # fill the disk up to its last byte
            fill.write(b"\0" * 4096)
    args = study_args(sqlite_url, slow_space, tmp_path, n=3)
    args[args.index("--checkpoint-dir") + 1] = str(small_disk / "ckpt")
    proc = start(args, tmp_path, PYTHONUNBUFFERED="1")
    assert proc.stdout is not None
    for line in proc.stdout:  # the progress line of the first trial, as soon as it ends
        if " FAIL " in line:
            break
    ballast.unlink()  # space again: the next trials run
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    trials = optuna.load_study(study_name="faults", storage=sqlite_url).trials
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed and all("No space left on device" in t.user_attrs["stop_reason"]
                          for t in failed), [t.user_attrs for t in failed]  # fmt: skip
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3


def garbage_file(path: Path) -> Path:
    path.write_bytes(os.urandom(8192))
    return path


def test_corrupt_sqlite_file_is_one_line_exit_2_and_left_untouched(
    tmp_path: Path, space_file: Path
) -> None:
    db = garbage_file(tmp_path / "study.db")
    digest = file_digest(db)
    url = f"sqlite:///{db}"
    for command in (["hpo.study", *study_args(url, space_file, tmp_path, n=2)],
                    ["hpo", "status", "--storage", url]):  # fmt: skip
        result = run_cli(*command, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "is not an SQLite database" in result.stderr, result.stderr
    assert file_digest(db) == digest
    assert sorted(p.name for p in tmp_path.glob("study.db*")) == ["study.db"]


@contextlib.contextmanager
def locked(db: Path) -> Iterator[sqlite3.Connection]:
    """Another program's write lock on `db` (a `BEGIN EXCLUSIVE` held until the block ends)."""
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield other
    finally:
        with contextlib.suppress(sqlite3.Error):
            other.execute("ROLLBACK")
        other.close()


def new_study_file(tmp_path: Path) -> str:
    """A SQLite storage file (in WAL mode) holding another study."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="another", storage=storage(url))
    return url


def test_locked_sqlite_file_waits_with_a_message_then_proceeds(
    tmp_path: Path, space_file: Path
) -> None:
    url = new_study_file(tmp_path)
    with locked(tmp_path / "study.db"):
        proc = start(study_args(url, space_file, tmp_path, n=2), tmp_path)
        line = proc.stderr.readline()  # the first thing it says
        assert "is locked by another program; waiting up to 60 s" in line, line
    out, err = proc.communicate(timeout=600)  # the lock is gone: it proceeds
    assert proc.returncode == 0, err
    assert Counter(t.state for t in load(url).trials) == {TrialState.COMPLETE: 2}


def test_sqlite_file_locked_too_long_is_one_line_exit_2_and_left_untouched(
    tmp_path: Path, space_file: Path
) -> None:
    url = new_study_file(tmp_path)
    db = tmp_path / "study.db"
    with locked(db):
        digest = file_digest(db)
        result = subprocess.run(
            [sys.executable, "-m", "hpo.study", *study_args(url, space_file, tmp_path, n=2)],
            cwd=tmp_path, env=cli_env() | {"HPO_STORAGE_PATIENCE": "3"}, capture_output=True,
            text=True, timeout=600, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert file_digest(db) == digest
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "waiting up to 3 s" in lines[0] and len(lines) == 2, result.stderr
    assert "stayed locked by another program for 3 s" in lines[1], result.stderr
