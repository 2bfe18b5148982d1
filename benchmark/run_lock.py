"""One process per run: an exclusive lock per run id, so the same command twice at once in one
output directory does not train twice.

The lock is an `flock` on `runs/<run_id>/run.lock`, released by the kernel when the process dies
(kill -9 included), so a stale lock never blocks a rerun. The holder's PID is written inside it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class RunInProgress(RuntimeError):
    """Another process holds this run's lock."""


def _is_secondary_rank() -> bool:
    """Lightning's DDP launcher re-runs the command for ranks > 0; only rank 0 takes the lock."""
    return any(os.environ.get(name, "0") not in ("", "0") for name in ("LOCAL_RANK", "NODE_RANK", "RANK"))


class RunLock:
    def __init__(self, run_dir: Path, run_id: str, wait: bool = False) -> None:
        self.path = run_dir / "run.lock"
        self.run_id = run_id
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        if _is_secondary_rank():
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunInProgress(f"run {self.run_id} is in progress in process {holder} "
                                "(wait for it, or rerun with --wait)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
