"""SIGTERM and Ctrl-C: finish the current optimizer step, checkpoint, say how to resume, exit 143/130.

Schedulers send SIGTERM on preemption. The first SIGTERM or SIGINT only records a stop request;
training notices it at the next step boundary (`StopOnSignal`), saves a checkpoint there, and
raises `Interrupted`, which the CLI turns into a message and the conventional exit status
(128 + signal number). A second signal stops at once.
"""

from __future__ import annotations

import signal
from typing import Any

import lightning as L

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A run stopped on a signal. BaseException, like KeyboardInterrupt: no `except Exception` in a
    library between here and the CLI may swallow it."""

    def __init__(self, signum: int, step: int | None = None, checkpoint_step: int | None = None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.step = step
        self.checkpoint_step = checkpoint_step

    @property
    def exit_status(self) -> int:
        return 128 + self.signum

    def message(self) -> str:
        name = signal.Signals(self.signum).name
        if self.step is None:
            return f"interrupted by {name} before training started; rerun the same command to start again"
        kept = (f"checkpoint at step {self.checkpoint_step} kept" if self.checkpoint_step
                else "no checkpoint was written yet")
        return f"interrupted by {name} at step {self.step}; {kept}; rerun the same command to resume"


class StopRequest:
    """Process-wide record of the first SIGINT/SIGTERM; installs and restores the handlers."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # second signal: stop now
            raise Interrupted(signum)
        self.signum = signum

    @property
    def active(self) -> bool:
        return bool(self._previous)

    def install(self) -> None:
        """(Re)install our handlers — also over the ones Lightning's Trainer sets during fit."""
        for signum in HANDLED:
            current = signal.getsignal(signum)
            if current != self._handle:
                self._previous.setdefault(signum, current)
                signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        self.signum = None

    def check(self, step: int | None = None, checkpoint_step: int | None = None) -> None:
        """Raise `Interrupted` if a stop was requested."""
        if self.signum is not None:
            raise Interrupted(self.signum, step, checkpoint_step)


STOP = StopRequest()


class StopOnSignal(L.Callback):
    """At the first step boundary after a signal: checkpoint (single process), then stop the run."""

    def __init__(self, checkpointer: Any) -> None:
        self.checkpointer = checkpointer

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if STOP.active:
            STOP.install()  # the Trainer installed its own SIGTERM handler during setup

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        if STOP.signum is None:
            return
        step = trainer.global_step
        # Under DDP a save needs every rank at the same step; there the last periodic one is kept.
        if trainer.world_size == 1 and self.checkpointer.saved_step != step:
            self.checkpointer.save(trainer, step)
        STOP.check(step, self.checkpointer.saved_step)
