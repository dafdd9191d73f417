"""`hpo study`, interrupted at an exact point of its first fit by a real signal it sends itself.

    python -m hpo.testing.interrupt --signal TERM --at 1:2 -- --n-trials 1 --space s.yaml …

`--at EPOCH:STEP` sends the signal as training step STEP of epoch EPOCH starts (a step is one
or several mini-batches: hpo.train.data.loader.batches_per_step; `-1`: the epoch's last step;
`end`: once the epoch has ended and its checkpoint is written, as the next epoch starts). The
signal is a real one (`os.kill` on this process), handled as one from outside would be; where it
lands is exact, which a signal from another process (timing-dependent) cannot promise. Tests
rerun the study with plain `python -m hpo.study` to resume it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

import lightning.pytorch as pl


class SignalAt(pl.Callback):
    """Sends `signum` to this process once, at (epoch, step)."""

    def __init__(self, signum: int, epoch: int, step: str) -> None:
        self.signum, self.epoch, self.step = signum, epoch, step
        self.sent = False

    def on_train_batch_start(self, trainer: pl.Trainer, _m: Any, _b: Any, batch_idx: int) -> None:
        last = self.step == "-1" and batch_idx == trainer.num_training_batches - 1
        if trainer.current_epoch == self.epoch and (last or self.step == str(batch_idx)):
            self._send()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch == self.epoch + 1 and self.step == "end":
            self._send()

    def _send(self) -> None:
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), self.signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signal", required=True, choices=["TERM", "INT", "KILL"])
    parser.add_argument("--at", required=True, metavar="EPOCH:STEP")
    parser.add_argument("study_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    epoch, step = args.at.split(":")
    hook = SignalAt(signal.Signals[f"SIG{args.signal}"], int(epoch), step)

    from hpo.search import objective

    make_trainer = objective.make_trainer

    def with_hook(config: Any, callbacks: list[pl.Callback], *rest: Any) -> pl.Trainer:
        return make_trainer(config, [*callbacks, hook], *rest)

    objective.make_trainer = with_hook  # the one fit of this process gets the hook
    from hpo.cli import run_command

    study_args = args.study_args[1:] if args.study_args[:1] == ["--"] else args.study_args
    return run_command("study", study_args, prog="python -m hpo.study")


if __name__ == "__main__":
    sys.exit(main())
