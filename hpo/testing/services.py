"""Servers for storage tests: the machine's own PostgreSQL and Redis (shared, never restarted),
and servers of a test's own that it may stop, kill and restart (fault tests).

    with own_postgres() as pg:              # initdb + pg_ctl on a free port in a temp dir
        url = pg.url("hpo", password="s3cret")
        pg.restart()                        # or pg.stop("immediate"); pg.start()
    with own_redis(tmp_path) as server:     # redis-server on a free port, append-only file
        server.restart()

Both stop their server on leaving the block, failures included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG = dict(host="127.0.0.1", port=5432, user="root")
REDIS = "redis://127.0.0.1:6379/0"


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    name = f"hpo_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=3, **PG)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def redis_with_prefix() -> Iterator[str]:
    redis = pytest.importorskip("redis", reason="redis (the client) is not installed")
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379 ({exc})")
    prefix = f"hpo-test-{uuid.uuid4().hex[:8]}"
    try:
        yield f"{REDIS}?prefix={prefix}"
    finally:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)


# ------------------------------------------------------------ servers of a test's own


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    return found[-1].parent


def _as_postgres_user(directory: Path) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user (which is why
    its directory is a fresh one in /tmp, not pytest's tmp_path that only root may enter)."""
    if os.geteuid() != 0:
        return []
    shutil.chown(directory, "postgres")
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PostgresServer:
    """A PostgreSQL cluster of this test (trust authentication: any password is accepted and
    never needed, so a URL may carry one to prove it is never printed)."""

    directory: Path
    port: int
    bin: Path
    prefix: list[str]

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}{done.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "-o", options,
                  "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast` closes every session cleanly; `immediate` is a crash (recovery on start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def createdb(self, name: str) -> None:
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                  "root", name)  # fmt: skip

    def url(self, database: str, password: str | None = None) -> str:
        auth = f"root:{password}" if password else "root"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextlib.contextmanager
def own_postgres() -> Iterator[PostgresServer]:
    """initdb + pg_ctl start on a free port; stopped (immediate) and its files removed on
    leaving, even on failure."""
    bin_dir = _postgres_bin()
    directory = Path(tempfile.mkdtemp(prefix="hpo-test-pg-"))
    try:
        server = PostgresServer(directory, free_port(), bin_dir, _as_postgres_user(directory))
        server._run(str(bin_dir / "initdb"), "-D", str(server.data), "-A", "trust", "-U",
                    "root", "--no-sync", "-E", "UTF8")  # fmt: skip
        server.start()
        try:
            yield server
        finally:
            if server.running():
                with contextlib.suppress(AssertionError, subprocess.SubprocessError):
                    server.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class RedisServer:
    """A redis-server of this test, persisting to an append-only file (fsync on every write)
    so a restart keeps the journal, as a production Redis holding studies must."""

    directory: Path
    port: int
    process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: a clean shutdown; SIGKILL: a crash (the append-only file keeps the data)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None

    def restart(self, down_for: float = 0.0, sig: int = signal.SIGKILL) -> None:
        self.stop(sig)
        time.sleep(down_for)
        self.start()

    def url(self, prefix: str = "hpo") -> str:
        return f"redis://127.0.0.1:{self.port}/0?prefix={prefix}"


@contextlib.contextmanager
def own_redis(directory: Path) -> Iterator[RedisServer]:
    directory.mkdir(parents=True, exist_ok=True)
    server = RedisServer(directory, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)
