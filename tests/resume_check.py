"""Shared check: a run killed after some steps and resumed from its checkpoint equals an uninterrupted run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.config import resolve_config
from benchmark.runner import execute, prepare_run


def run_method(out: Path, method: str, overrides: list[str], seed: int = 0, task: str = "embedded-pretrain",
               **kwargs: Any) -> tuple[dict[str, Any], Path]:
    config = resolve_config(task, method, seed, overrides)
    return execute(prepare_run(config, out), out, progress=False, track=False, **kwargs)


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    return {"final": record["final"], "curves": record["curves"], "mixture": record["mixture"],
            "downstream": record["downstream"], "sampling": record["sampling"]}


def assert_resume_equivalent(tmp_path: Path, method: str, overrides: list[str], stop_after: int = 6,
                             task: str = "embedded-pretrain") -> dict[str, Any]:
    """Kill after `stop_after` steps (a checkpoint must exist before it), resume, compare with a whole run."""
    whole, _ = run_method(tmp_path / "whole", method, overrides, task=task)
    partial, _ = run_method(tmp_path / "split", method, overrides, task=task, stop_after_steps=stop_after)
    assert partial["status"] == "interrupted"
    resumed, _ = run_method(tmp_path / "split", method, overrides, task=task)
    assert comparable(resumed) == comparable(whole)
    return whole
