"""`--workers N` and the SLURM array script, run for real (the script with bash and SLURM's
environment variables set here; `scontrol` is a stand-in that records its arguments)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

from hpo.persist.storages import open_storage
from hpo.testing.helpers import ROOT, cli_env, run_cli, wait_for_epochs

SCRIPT = ROOT / "scripts" / "slurm" / "study_array.sbatch"


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
    workers = {t.system_attrs["hpo:worker"]["pid"] for t in optuna.load_study(
        study_name="pool", storage=sqlite_url).trials}  # fmt: skip
    assert len(workers) == 2


def descendants(pid: int) -> list[int]:
    """The processes below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def command_lines(pids: list[int]) -> list[str]:
    lines = []
    for pid in pids:
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return lines


def slurm_env(tmp_path: Path, storage: str, hpo_args: str) -> dict[str, str]:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    scontrol = fake_bin / "scontrol"
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "scontrol.log"}\n')
    scontrol.chmod(0o755)
    env = cli_env()
    env.update(
        PATH=f"{fake_bin}{os.pathsep}{env['PATH']}",
        SLURM_JOB_ID="78",
        SLURM_ARRAY_JOB_ID="77",
        SLURM_ARRAY_TASK_ID="1",
        SLURM_CPUS_PER_TASK="1",
        SLURM_SUBMIT_DIR=str(tmp_path),
        HPO_STORAGE=storage,
        HPO_ARGS=hpo_args,
        HPO_PYTHON=sys.executable,
    )
    return env


def test_slurm_script_forwards_sigterm_requeues_and_resumes(
    tmp_path: Path, slow_space: Path
) -> None:
    url = f"journal:///{tmp_path / 'shared' / 'study.log'}"
    hpo_args = f"--n-trials 1 --max-epochs 3 --space {slow_space} --study-name slurm"
    hpo_args += " --checkpoint-every 1ep"
    env = slurm_env(tmp_path, url, hpo_args)
    proc = subprocess.Popen(
        ["bash", str(SCRIPT)], env=env, cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    wait_for_epochs(open_storage(url), proc, 1, name="slurm")
    # The storage URL (and any password in it) reaches the worker through the environment,
    # never its command line, which every user of the node can read (`ps`).
    worker_lines = command_lines(descendants(proc.pid))
    assert any("hpo.study" in line for line in worker_lines)
    assert not any("study.log" in line for line in worker_lines), worker_lines
    proc.send_signal(signal.SIGTERM)  # SLURM signals only the batch shell (B:TERM)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 143, out
    assert "hpo worker 77_1" in out and "SIGTERM: stopping worker" in out
    assert (tmp_path / "scontrol.log").read_text().split() == ["requeue", "77_1"]

    env["SLURM_RESTART_COUNT"] = "1"  # what SLURM runs after the requeue
    rerun = subprocess.run(["bash", str(SCRIPT)], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    trials = optuna.load_study(study_name="slurm", storage=open_storage(url)).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert trials[1].user_attrs["resumed_from"]["epochs"] >= 1
