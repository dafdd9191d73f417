"""Storage operations that survive a database server restart: wait for the server with
exponential backoff, for a bounded time, then stop with one clear line.

    engine_kwargs |= PRE_PING  # or replace_closed_connections(engine) for PostgreSQL
    wait_for_connections(storage.engine, url)                  # every RDB server
    claim = retrying(lambda: claim_next(study, budget), url)   # a whole step

Three layers, the libraries' first:
- Pooled connections the server closed (a restart closes them all) are replaced at checkout:
  for PostgreSQL (psycopg, psycopg2) a look at the connection's socket
  (`replace_closed_connections`), for other servers SQLAlchemy's `pool_pre_ping` (a ping).
- SQLAlchemy has no retry of a refused connection: `wait_for_connections` adds one (a
  `do_connect` event), so any operation made while the server is down waits for it. redis-py
  has its own (`Retry(ExponentialBackoff())`), used for the Redis journal (hpo.persist.internals).
- `retrying(step)` redoes a step whose connection was cut in flight (the query running when the
  server went down). A step must be safe to redo from its start: the budget's claim recounts
  under the lock, a trial's end is told with skip_if_finished.

After `patience()` seconds (`HPO_STORAGE_PATIENCE`, default 60) without the server:
StorageUnreachable, a UsageError — the CLI prints it on one line and exits with code 2, as it
does for a server that is down when a study starts.
"""

from __future__ import annotations

import os
import random
import select
import sys
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import sqlalchemy
import sqlalchemy.exc

from hpo.errors import UsageError
from hpo.persist.urls import redact

T = TypeVar("T")
PATIENCE_S = 60.0
FIRST_DELAY_S, MAX_DELAY_S = 0.5, 8.0
#: engine_kwargs for server databases (not SQLite, which has no connection to lose).
PRE_PING = {"pool_pre_ping": True}
_gave_up: StorageUnreachable | None = None  # once given up, every later wait gives up at once


class StorageUnreachable(UsageError):
    """The storage server stayed unreachable for the whole patience."""

    def __init__(self, url: str, seconds: float, reason: str) -> None:
        super().__init__(
            f"storage {redact(url)} unreachable for {seconds:.0f} s: {reason} — rerun the same "
            "command to resume"
        )


def patience() -> float:
    return float(os.environ.get("HPO_STORAGE_PATIENCE", PATIENCE_S))


def delays() -> Iterator[float]:
    """0.5, 1, 2, 4, 8, 8, … seconds, each with up to 25 % jitter (workers do not retry in
    lockstep)."""
    delay = FIRST_DELAY_S
    while True:
        yield delay * (1 + random.random() / 4)
        delay = min(2 * delay, MAX_DELAY_S)


class LockLost(Exception):
    """The study lock was lost while held (hpo.persist.locks): what was done under it is
    undone and the step redone, as after any storage fault."""


def storage_fault(exc: BaseException | None) -> bool:
    """True if `exc` (or what caused it: Optuna wraps SQLAlchemy's errors in
    StorageInternalError) is a lost or refused connection, not a bad query or a bad file."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, LockLost):
            return True
        if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            return "database is locked" not in str(exc)  # SQLite: its busy timeout waited
        if _redis_connection_error(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _redis_connection_error(exc: BaseException) -> bool:
    redis = sys.modules.get("redis")
    if redis is None:
        return False
    return isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError))


def reason_of(exc: BaseException) -> str:
    """The first line of the innermost cause (the driver's own words)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Outage:
    """One stretch of unreachability: says so once on stderr, sleeps with backoff, and gives
    up with StorageUnreachable after `patience()` seconds."""

    def __init__(self, url: str) -> None:
        self.url, self.start, self._delays = url, time.monotonic(), delays()
        self.limit, self._said = patience(), False

    def wait(self, exc: BaseException) -> None:
        global _gave_up
        waited = time.monotonic() - self.start
        if _gave_up is not None:  # this process already waited its patience out
            raise _gave_up
        if waited >= self.limit:
            _gave_up = StorageUnreachable(self.url, waited, reason_of(exc))
            raise _gave_up from None
        if not self._said:
            self._said = True
            print(
                f"storage {redact(self.url)} unreachable ({reason_of(exc)}); retrying for up "
                f"to {self.limit:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        time.sleep(min(next(self._delays), max(0.0, self.limit - waited)))


def retrying(step: Callable[[], T], url: str | None) -> T:
    """`step()`, redone from its start while it fails with a storage fault (see module)."""
    outage: Outage | None = None
    while True:
        try:
            return step()
        except StorageUnreachable:
            raise
        except Exception as exc:
            if url is None or not storage_fault(exc):
                raise
            outage = outage or Outage(url)
            outage.wait(exc)


def redis_retry():  # -> redis.retry.Retry
    """redis-py's own retry, with our delays, for as many attempts as fill `patience()`."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    attempts, total = 0, 0.0
    while total < patience():
        attempts += 1
        total += min(MAX_DELAY_S, FIRST_DELAY_S * 2**attempts)
    return Retry(ExponentialBackoff(cap=MAX_DELAY_S, base=FIRST_DELAY_S), attempts)


def replace_closed_connections(engine: sqlalchemy.Engine) -> None:
    """At checkout, replace a pooled connection the server has closed.

    An idle PostgreSQL connection has nothing to read unless the server said goodbye (a restart
    or shutdown sends its FATAL message, a dead server's kernel closes the socket): a socket
    polled readable at checkout is dropped and a fresh one opened (SQLAlchemy's documented
    `DisconnectionError` from a checkout event). Hand-written instead of `pool_pre_ping`, whose
    `SELECT 1` is a round trip per checkout — 0.14–0.18 ms, ~4 % of a trial's storage cost here
    (benchmarks/README.md); the poll costs microseconds. A connection cut without a word (a
    network partition) fails its query instead, and `retrying` redoes the step."""

    def checkout(dbapi_connection, _record, _proxy):  # noqa: ANN001, ANN202 (SQLAlchemy's hook)
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
        if readable:
            raise sqlalchemy.exc.DisconnectionError("the server closed this pooled connection")

    sqlalchemy.event.listen(engine, "checkout", checkout)


def wait_for_connections(engine: sqlalchemy.Engine, url: str) -> None:
    """Every new connection of `engine` waits (with backoff, see Outage) for a server that
    refuses it, instead of failing the operation that needed it."""
    refused = engine.dialect.loaded_dbapi.OperationalError

    def connect(dialect, _record, cargs, cparams):  # noqa: ANN001, ANN202 (SQLAlchemy's hook)
        outage: Outage | None = None
        while True:
            try:
                return dialect.connect(*cargs, **cparams)
            except refused as exc:
                outage = outage or Outage(url)
                outage.wait(exc)

    sqlalchemy.event.listen(engine, "do_connect", connect)
