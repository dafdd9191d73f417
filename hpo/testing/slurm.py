"""A real one-node SLURM cluster on this machine, for the cluster tests.

    with slurm_cluster(tmp_path) as cluster:         # munged, slurmctld, slurmd
        job = cluster.sbatch("--array=0-1", "scripts/slurm/study_array.sbatch", env=env)
        cluster.run("scancel", "--signal=TERM", "--batch", f"{job}_1")
        cluster.wait_until_done(job)

Everything lives in a temp dir (munge key and socket, slurm.conf, state, spool, logs) on free
ports; only the commands this helper runs see `SLURM_CONF` (the test's own environment is left
alone). Settings that make slurmd run in a container without cgroups: process tracking from
/proc (`proctrack/linuxproc`), no task plugin, no accounting. Requeued jobs become eligible
after `cred_expire` seconds (SLURM's default is 120; 5 here) and the scheduler looks at pending
jobs every 2 s (default 60). Daemons run as root, as the tests do (jobs then run as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hpo.testing.services import free_port

DAEMONS = ("munged", "slurmctld", "slurmd")

CONF = """\
ClusterName=hpotest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={root}/munge/socket,cred_expire=5
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=10
MinJobAge=600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
"""


@dataclass
class SlurmCluster:
    root: Path
    env: dict[str, str]  # SLURM_CONF (and the munge socket) for the commands run here

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        """A SLURM command (sbatch, scancel, scontrol, squeue…); its stdout."""
        done = subprocess.run(
            args, env={**(env or os.environ), **self.env}, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def sbatch(self, *args: str, env: dict[str, str], cwd: Path) -> str:
        """Submit a batch script (args end with it); the job id."""
        return self.run("sbatch", "--parsable", f"--chdir={cwd}", *args, env=env).strip()

    def states(self, job: str) -> dict[str, str]:
        """Task id → state ("RUNNING", "PENDING", …) of the job's tasks still known."""
        out = self.run("squeue", "--noheader", "--array", "--jobs", job, "--format=%i %T")
        return dict(line.split() for line in out.splitlines() if line.strip())

    def wait_until_done(self, job: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while self.states(job):
            assert time.monotonic() < deadline, f"job {job} still queued: {self.states(job)}"
            time.sleep(1)

    def log(self, name: str) -> str:
        path = self.root / "log" / name
        return path.read_text(errors="replace") if path.exists() else ""


def _need_binaries() -> None:
    missing = [name for name in (*DAEMONS, "sbatch") if shutil.which(name) is None]
    if missing:
        pytest.skip(f"SLURM is not installed ({', '.join(missing)}): apt-get install slurmctld "
                    "slurmd slurm-client munge")  # fmt: skip


def _write_config(root: Path) -> Path:
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "munge").chmod(0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    conf = root / "slurm.conf"
    conf.write_text(CONF.format(
        host=socket.gethostname(), ctld_port=free_port(), slurmd_port=free_port(), root=root,
        cpus=os.cpu_count() or 1,
    ))  # fmt: skip
    return conf


def _start_daemons(root: Path, conf: Path) -> None:
    munge = root / "munge"
    subprocess.run(
        ["munged", "--force", f"--socket={munge}/socket", f"--key-file={munge}/munge.key",
         f"--pid-file={munge}/munged.pid", f"--seed-file={munge}/seed",
         f"--log-file={root}/log/munged.log"],
        check=True, timeout=30,
    )  # fmt: skip
    subprocess.run(["slurmctld", "-c", "-f", str(conf)], check=True, timeout=30)
    subprocess.run(["slurmd", "-f", str(conf)], check=True, timeout=30)


def _wait_for_node(cluster: SlurmCluster, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(AssertionError):
            if "idle" in cluster.run("sinfo", "--noheader", "--format=%T"):
                return
        time.sleep(0.5)
    raise AssertionError(
        f"the node never came up:\n{cluster.log('slurmctld.log')}\n{cluster.log('slurmd.log')}"
    )


def _stop_daemons(root: Path) -> None:
    """SIGTERM each daemon by its pid file, then SIGKILL what is left after 10 s."""
    pids = []
    for pid_file in (root / "slurmd.pid", root / "slurmctld.pid", root / "munge" / "munged.pid"):
        with contextlib.suppress(OSError, ValueError):
            pids.append(int(pid_file.read_text().split()[0]))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid in pids:
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def slurm_cluster(root: Path) -> Iterator[SlurmCluster]:
    """A one-node cluster in `root`; its daemons stopped on leaving, even on failure (jobs
    still running are cancelled first)."""
    _need_binaries()
    conf = _write_config(root)
    cluster = SlurmCluster(root, {"SLURM_CONF": str(conf)})
    try:
        _start_daemons(root, conf)
        _wait_for_node(cluster)
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.run("scancel", "--full", "--user", "root")
            time.sleep(1)
        _stop_daemons(root)
