"""Argument types and record-path handling shared by the command-line modules (run, sweep,
leaderboard, tables)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

RECORD_PATHS_HELP = "record files or directories (default: ./results if present, else benchmark_runs/records)"


def seed_list(text: str) -> list[int]:
    """argparse type: a seed or comma-separated seeds, all non-negative."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"seeds must be non-negative integers, got {text!r}") from exc
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be non-negative integers, got {text!r}")
    return seeds


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def add_record_paths_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, default=None, help=RECORD_PATHS_HELP)
    parser.add_argument("--strict", action="store_true",
                        help="refuse the whole command when a record is unreadable (default: skip it with a warning)")


def default_record_paths() -> list[Path]:
    """The results store a command reads when given no paths."""
    results = Path("results")
    return [results] if results.is_dir() else [Path("benchmark_runs/records")]


def read_records(paths: list[Path], strict: bool = False) -> list[dict[str, Any]]:
    """load_records, with an unreadable record reported as bad input (exit status 2)."""
    from .config import ConfigError
    from .records import load_records

    try:
        return load_records(paths, strict)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
