"""Result records: one JSON per run, written atomically, read back by leaderboards and tables.

The atomic writers serve the reports built from records too (leaderboard, tables, sweep outputs).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Callable, Iterable

from .paths import PACKAGE_DIR

SCHEMA_VERSION = 1
TRACKED_PACKAGES = ("torch", "lightning", "torchmetrics", "transformers", "tokenizers", "datasets",
                    "lm_eval", "mlflow", "optuna", "numpy", "benchmark-data-mixing")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> str | None:
    """Commit of the code that ran (with '+dirty' when the checkout has uncommitted changes)."""
    try:
        root = PACKAGE_DIR.parent
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _write_atomic(path: Path, write: Callable[[IO[str]], None], *, encoding: str | None = None,
                  durable: bool = False, permissions: int | None = None) -> Path:
    """Write through a temporary file in the same folder + rename, so readers never see a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding) as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if permissions is not None:
            os.chmod(tmp, permissions)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json_atomic(path: Path, payload: Any) -> Path:
    return _write_atomic(path, lambda handle: json.dump(payload, handle, indent=1, sort_keys=False, default=float),
                         durable=True)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write a text file atomically (temporary file in the same folder + rename)."""
    # mkstemp creates 0600; reports are meant to be read by others.
    return _write_atomic(path, lambda handle: handle.write(text), encoding="utf-8", permissions=0o644)


def record_path(results_dir: Path, run_id: str) -> Path:
    return results_dir / f"{run_id}.json"


def write_text_if_changed(path: Path, text: str) -> bool:
    """Atomically replace `path` with `text` unless it already holds exactly that; True if written.
    Generated data files are read by concurrent runs: they must never be seen empty or half-written."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    write_text_atomic(path, text)
    return True


def ensure_writable(directory: Path) -> None:
    """Fail before training, with one line, when results could not be written at the end."""
    from .config import ConfigError

    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check.", delete=True)
        probe.close()
    except OSError as exc:
        raise ConfigError(f"--output-dir: cannot write to {directory} ({exc.strerror or exc})") from exc


STALE_TEMP_SECONDS = 3600


def remove_stale_temp_files(output_dir: Path, run_id: str) -> None:
    """Temporary files that a killed atomic write left behind: this run's (its lock is held) and any
    older than an hour (an atomic write takes milliseconds)."""
    now = time.time()
    for folder in (output_dir / "records", output_dir / "failed"):
        for tmp in folder.glob(".*.tmp") if folder.is_dir() else []:
            try:
                if tmp.name.startswith(f".{run_id}.json.") or now - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                    tmp.unlink()
            except OSError:
                pass


def load_records(paths: Iterable[Path], strict: bool = False) -> list[dict[str, Any]]:
    """Read every *.json record under the given files/directories. A corrupt file is skipped with
    one warning line naming it (`strict`: refused with an error instead)."""
    records = []
    for root in paths:
        files = sorted(root.rglob("*.json")) if root.is_dir() else [root]
        for file in files:
            try:
                record = json.loads(file.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                if strict or not root.is_dir():
                    raise ValueError(f"{file}: not a readable result record ({exc})") from exc
                print(f"warning: skipping {file}: not a readable result record ({exc})", file=sys.stderr)
                continue
            if isinstance(record, dict) and record.get("schema") == SCHEMA_VERSION:
                record["_path"] = str(file)
                records.append(record)
    return records


def is_comparable(record: dict[str, Any]) -> bool:
    """A completed run that stands for a method in comparisons — not an intermediate stage of a
    pipeline (DoReMi's reference and proxy runs are counted as their method's extra compute)."""
    return record.get("status") == "completed" and not record.get("pipeline_stage")


def completed_record(output_dir: Path, run_id: str) -> tuple[dict, Path] | None:
    """The record of a finished run with this exact config and seed, if there is one."""
    path = record_path(output_dir / "records", run_id)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return (record, path) if record.get("status") == "completed" else None
