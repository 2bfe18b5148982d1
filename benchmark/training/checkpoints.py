"""Checkpoints that survive kills, full disks and flipped bytes.

Each checkpoint is `step-00000100.ckpt` plus a sidecar `step-00000100.ckpt.sha256` (its size and
SHA-256). A save writes a temporary file in the checkpoint directory, fsyncs it, writes the
sidecar, then renames the file into place; the previous checkpoint is deleted only after the new
one is complete. On resume the newest checkpoint whose bytes match its sidecar is used; a torn,
truncated or corrupted newest one is reported and the previous one is used instead.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

KEEP = 2  # the newest checkpoint and the one before it
_NAME = re.compile(r"^step-(\d{8})\.ckpt$")
# Fault injection for the fault-tolerance tests: "kill" (SIGKILL half-way through writing the
# bytes) or "enospc" (the write fails as on a full disk), optionally ":STEP" for one save only.
FAULT_ENV = "BENCHMARK_INJECT_CHECKPOINT_FAULT"


def _injected_fault(path: Path) -> str:
    kind, _, step = os.environ.get(FAULT_ENV, "").partition(":")
    if path.suffix != ".ckpt" or (step and path.name != checkpoint_name(int(step))):
        return ""
    return kind


class CheckpointError(RuntimeError):
    """No usable checkpoint although some exist (the message names the file and suggests --fresh)."""


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.ckpt"


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync, rename; never leaves a torn `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fault = _injected_fault(path)
    try:
        with open(tmp, "wb") as handle:
            if fault == "enospc":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
            half = len(data) // 2
            handle.write(data[:half])
            if fault == "kill":
                handle.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            handle.write(data[half:])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_checkpoint(path: Path, checkpoint: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getvalue()
    digest = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    path.parent.mkdir(parents=True, exist_ok=True)
    # Sidecar first: a checkpoint file that exists always has the digest that describes it.
    _write_durably(_sidecar(path), json.dumps(digest).encode())
    _write_durably(path, data)


def verify(path: Path) -> str | None:
    """None when the file matches its sidecar, else why it cannot be used."""
    try:
        digest = json.loads(_sidecar(path).read_text())
        data = path.read_bytes()
    except FileNotFoundError as exc:
        return f"missing {Path(exc.filename).name}"
    except (OSError, ValueError) as exc:
        return f"unreadable ({exc})"
    if len(data) != digest.get("bytes"):
        return f"truncated ({len(data):,} of {digest.get('bytes'):,} bytes)"
    if hashlib.sha256(data).hexdigest() != digest.get("sha256"):
        return "checksum mismatch (corrupted bytes)"
    return None


def checkpoint_steps(directory: Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint file in `directory`, newest first."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found, reverse=True)


@dataclass
class ResumePoint:
    path: Path | None
    step: int


def find_resume_checkpoint(directory: Path, warn: Any = None) -> ResumePoint:
    """The newest verified checkpoint; each unusable newer one is reported through `warn`."""
    warn = warn or (lambda message: print(f"warning: {message}", file=sys.stderr, flush=True))
    candidates = checkpoint_steps(directory)
    rejected: list[str] = []
    for step, path in candidates:
        problem = verify(path)
        if problem is None:
            for message in rejected:
                warn(f"{message}; falling back to {path.name} (step {step})")
            return ResumePoint(path, step)
        rejected.append(f"checkpoint {path} is unusable: {problem}")
    if rejected:
        raise CheckpointError(f"{rejected[0]}, and no earlier checkpoint is intact; rerun with --fresh to "
                              "start over")
    return ResumePoint(None, 0)


def latest_intact_step(directory: Path) -> int | None:
    """Step of the newest intact checkpoint (for messages), None when there is none."""
    for step, path in checkpoint_steps(directory):
        if verify(path) is None:
            return step
    return None


def prune(directory: Path, current_step: int, keep: int = KEEP) -> None:
    """Keep the newest `keep` intact checkpoints up to `current_step`; delete the rest (older ones,
    corrupt ones, those of an abandoned later timeline), orphan sidecars and stale temporary files."""
    intact = [p for s, p in checkpoint_steps(directory) if s <= current_step and verify(p) is None]
    keep_paths = set(intact[:keep])
    for _, path in checkpoint_steps(directory):
        if path not in keep_paths:
            path.unlink(missing_ok=True)
            _sidecar(path).unlink(missing_ok=True)
    for sidecar in directory.glob("step-*.ckpt.sha256"):
        if not sidecar.with_name(sidecar.name[:-len(".sha256")]).exists():
            sidecar.unlink(missing_ok=True)
    for tmp in directory.glob(".*.tmp"):
        if f".{os.getpid()}." not in tmp.name:
            tmp.unlink(missing_ok=True)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O with the durable, checksummed writes above."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        write_checkpoint(Path(path), checkpoint)

    def remove_checkpoint(self, path: Any) -> None:
        Path(path).unlink(missing_ok=True)
        _sidecar(Path(path)).unlink(missing_ok=True)


class StepCheckpoint(L.Callback):
    """Checkpoint every `every` optimizer steps at the step boundary; keep the newest two."""

    def __init__(self, directory: Path, every: int) -> None:
        self.directory = directory
        self.every = every
        self.saved_step: int | None = None

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        step = trainer.global_step
        if step % self.every == 0 and step != self.saved_step:
            self.save(trainer, step)

    def save(self, trainer: L.Trainer, step: int) -> None:
        trainer.save_checkpoint(self.directory / checkpoint_name(step))
        self.saved_step = step
        if trainer.is_global_zero:
            prune(self.directory, step)
