"""SIGTERM (e.g. SLURM preemption) and Ctrl-C: stop at a safe point, never lose the trial.

with graceful_stop():           # installs the handlers for the run
    ...  trainer callbacks=[StopOnSignal()] ...   (hpo.stop_on_signal; raises Interrupted)

The first SIGTERM/SIGINT only sets a flag. Training stops after the current training step (its
mini-batches hold at most 2**20 input values: hpo.train.data.loader), or after the epoch's
validation when that step was the epoch's last (the trial is then failed and re-queued to resume
from the checkpoint taken there); between trials, no new trial starts. The process then exits
with 128 + signal (143 for SIGTERM, 130 for SIGINT). A second Ctrl-C exits at once.

Why not Lightning's own handling: on SIGTERM Lightning raises `SIGTERMException`, a SystemExit
with code 0, which Optuna does not catch (the trial stays RUNNING); on Ctrl-C it ignores further
SIGINTs and calls `sys.exit(1)`. Our SIGTERM handler is kept by Lightning during `fit` (it chains
pre-existing handlers), and run_trial turns a `SIGTERMException` into `Interrupted`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator

_requested: int | None = None


class Interrupted(BaseException):
    """A stop asked for by a signal. A BaseException, so that Optuna's `catch=(Exception,)`
    does not record it as an ordinary failure and carry on."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def requested() -> int | None:
    """The signal received, if any."""
    return _requested


def check() -> None:
    """Raise `Interrupted` if a stop was requested."""
    if _requested is not None:
        raise Interrupted(_requested)


_announce = True
_on_signal: list[Callable[[int], None]] = []


def handle(signum: int, _frame: object = None) -> None:
    """The handler graceful_stop installs: the first signal asks for a stop, a second Ctrl-C
    exits at once. Functions registered with `also_on_signal` run first (passing it on)."""
    global _requested
    for forward in _on_signal:
        forward(signum)
    if _requested is not None and signum == signal.SIGINT:
        if _announce:
            print("\nSecond Ctrl-C: exiting now.", file=sys.stderr, flush=True)
        os._exit(128 + signal.SIGINT)
    if _requested is None:
        _requested = signum
        what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        extra = " (Ctrl-C again to exit at once)" if signum == signal.SIGINT else ""
        if _announce:
            print(
                f"\n{what} received: stopping after the current step{extra}...",
                file=sys.stderr,
                flush=True,
            )


@contextlib.contextmanager
def also_on_signal(forward: Callable[[int], None]) -> Iterator[None]:
    """Run `forward(signum)` on every SIGTERM/SIGINT while the block runs (e.g. to pass the
    signal on to worker processes)."""
    _on_signal.append(forward)
    try:
        yield
    finally:
        _on_signal.remove(forward)


@contextlib.contextmanager
def graceful_stop(announce: bool = True) -> Iterator[None]:
    """Install the SIGTERM/SIGINT handlers (main thread only) for the duration of the block;
    `announce=False` stops without saying so (worker processes: their parent says it)."""
    global _requested, _announce
    _requested, _announce = None, announce
    old = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
