"""`--workers N`: N worker processes on this machine sharing one study.

run_pool(["--n-trials", "40", "--workers", "4"], 4)

Each worker is `python -m hpo.study <same arguments> --workers 1`, so it behaves exactly like a
separate invocation on another node (the study's lock keeps the total budget exact). Workers get
--threads torch threads each (at most cores // N), their output is prefixed with [wK], and
SIGTERM/SIGINT are passed on to them (they run in their own session, so a terminal's Ctrl-C
reaches them once, through here; a second Ctrl-C makes them exit at once).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


def threads_per_worker(workers: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // workers)


def worker_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, path) if p)
    env.update(OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")
    return env


def _relay(stream: IO[str], label: str) -> None:
    for line in stream:
        sys.stdout.write(f"[{label}] {line}")
        sys.stdout.flush()


def run_pool(argv: Sequence[str], workers: int, threads: int = 1, quiet: bool = False) -> int:
    """Start the workers (each with `threads` torch threads, fewer if workers × threads would
    exceed the cores), forward signals, wait; 128+signal if interrupted, else the worst worker
    exit code."""
    threads = max(1, min(threads, threads_per_worker(workers)))
    if not quiet:
        print(f"Starting {workers} workers, {threads} torch thread(s) each.", flush=True)
    command = [sys.executable, "-m", "hpo.study", *argv, "--workers", "1", "--pool-worker"]
    command += ["--threads", str(threads)]
    procs = [
        subprocess.Popen(
            command,
            env=worker_env(threads),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for _ in range(workers)
    ]
    relays = [
        threading.Thread(target=_relay, args=(p.stdout, f"w{i + 1}"), daemon=True)
        for i, p in enumerate(procs)
    ]
    for relay in relays:
        relay.start()
    received: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        codes = [proc.wait() for proc in procs]
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    for relay in relays:
        relay.join(timeout=5)
    if received:
        return 128 + received[0]
    return max(codes, key=abs)
