"""`--workers N`, and the SLURM array script on a real one-node SLURM cluster (munged,
slurmctld and slurmd started for the test: hpo.testing.slurm): a 2-task job array on one study,
a task preempted mid-trial and requeued, the study finished with its exact budget."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hpo.persist.storages import open_storage
from hpo.testing.helpers import ROOT, cli_env, run_cli
from hpo.testing.services import own_postgres
from hpo.testing.slurm import SlurmCluster, slurm_cluster

SCRIPT = ROOT / "scripts" / "slurm" / "study_array.sbatch"
N_TRIALS = 4


def counted(url: str, name: str) -> list[TrialState]:
    return [t.state for t in optuna.load_study(study_name=name, storage=url).trials]


def test_workers_flag_runs_processes_that_share_the_budget(
    tmp_path: Path, space_file: Path, sqlite_url: str
) -> None:
    args = ["--n-trials", "4", "--max-epochs", "1", "--space", str(space_file)]
    args += ["--storage", sqlite_url, "--study-name", "pool", "--workers", "2"]
    result = run_cli("hpo.study", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 trials at a time" in result.stdout  # batches of 2, in 2 worker processes
    assert counted(sqlite_url, "pool") == [TrialState.COMPLETE] * 4
    records = [t.system_attrs["hpo:worker"] for t in optuna.load_study(
        study_name="pool", storage=sqlite_url).trials]  # fmt: skip
    # a result held for its turn is claimed by the coordinator, noting who trained it
    trainers = {record.get("trained_by", record["pid"]) for record in records}
    assert len(trainers) == 2


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SlurmCluster]:
    with slurm_cluster(tmp_path / "slurm") as running:
        yield running


@pytest.fixture(params=["postgresql", "journal"])
def shared_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """What the array's tasks share: a PostgreSQL database (a server of the test's own) or a
    journal file."""
    if request.param == "journal":
        yield f"journal:///{tmp_path / 'shared' / 'study.log'}"
        return
    with own_postgres() as server:
        server.createdb("hpo")
        yield server.url("hpo")


def command_lines() -> list[str]:
    """Every process's command line on this machine, read from /proc."""
    lines = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(path.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return lines


@functools.cache
def storage(url: str) -> optuna.storages.BaseStorage:
    """One storage (one connection pool) per URL for all of the test's reads."""
    return open_storage(url)


def load(url: str) -> optuna.Study:
    return optuna.load_study(study_name="slurm", storage=storage(url))


def finished(url: str) -> dict[int, float]:
    """Completed trials: number → value."""
    return {t.number: t.value for t in load(url).get_trials(states=(TrialState.COMPLETE,))}


def wait_for_running_trials(url: str, n: int, epochs: int, timeout: float = 600) -> None:
    """Until `n` trials run at once, each with `epochs` epochs checkpointed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            running = load(url).get_trials(states=(TrialState.RUNNING,))
        except KeyError:  # no study yet
            running = []
        ready = [t for t in running if len(t.intermediate_values) >= epochs]
        # (An epoch's value is reported at its validation, its checkpoint saved after it.)
        saved = [Path(t.user_attrs.get("checkpoint") or "").is_file() for t in ready]
        if len(ready) >= n and all(saved):
            return
        time.sleep(0.5)
    raise AssertionError(f"never {n} trials running with {epochs} epochs in {timeout} s")


@pytest.mark.slow  # a SLURM cluster and 2 studies' tasks: ~3 min; CI runs it
def test_job_array_preempted_and_requeued_finishes_the_exact_budget(
    tmp_path: Path, slow_space: Path, cluster: SlurmCluster, shared_storage: str
) -> None:
    # 12 epochs (~4 s): the TERM, passed on by SLURM and the batch shell, lands mid-trial
    hpo_args = f"--n-trials {N_TRIALS} --max-epochs 12 --pruner none --space {slow_space}"
    hpo_args += f" --study-name slurm --checkpoint-every 1ep --checkpoint-dir {tmp_path}/ckpt"
    env = cli_env() | {"HPO_PYTHON": sys.executable}
    # What README's "Running on a cluster" shows, with this node's size (2 CPUs, 2 GB).
    job = cluster.sbatch(
        "--array=0-1", "--cpus-per-task=1", "--mem=500M",
        f"--export=ALL,HPO_STORAGE={shared_storage},HPO_ARGS={hpo_args}",
        str(SCRIPT), env=env, cwd=tmp_path,
    )  # fmt: skip
    wait_for_running_trials(shared_storage, n=2, epochs=1)
    # The URL reaches the workers through their environment, never a command line (`ps`).
    workers = [line for line in command_lines() if "hpo.study" in line]
    assert workers and not any(shared_storage in line for line in workers), workers
    before = finished(shared_storage)

    # Preemption: TERM to task 1's batch shell, which passes it on to its worker, then
    # requeues the task (`scontrol requeue`, in the script); the task runs again.
    cluster.run("scancel", "--signal=TERM", "--batch", f"{job}_1")
    cluster.wait_until_done(job)

    task1 = (tmp_path / f"hpo-study-{job}_1.out").read_text()
    assert "SIGTERM: stopping worker" in task1 and f"requeueing {job}_1" in task1, task1
    assert "restart 1" in task1, task1  # the requeued task ran again
    trials = load(shared_storage).trials
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) == N_TRIALS, (states, task1)  # exact budget
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    stopped = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.user_attrs["stop_reason"] for t in stopped] == [
        "interrupted by SIGTERM; re-queued"
    ], [t.user_attrs.get("stop_reason") for t in stopped]
    retry = next(t for t in trials if t.system_attrs.get("failed_trial") == stopped[0].number)
    assert retry.state == TrialState.COMPLETE and retry.params == stopped[0].params
    assert retry.user_attrs["resumed_from"]["epochs"] >= 1  # from the preempted checkpoint
    assert before.items() <= finished(shared_storage).items()  # nothing lost or changed
