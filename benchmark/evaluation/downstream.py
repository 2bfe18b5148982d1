"""Downstream evaluation through lm-eval: the same code path for the embedded mini-MMLU (local
task files) and the real 5-shot MMLU (lm-eval's built-in `mmlu` group)."""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase


def silence_lm_eval() -> None:
    """lm-eval logs warnings meant for CLI users (e.g. about passing an in-memory model)."""
    logging.getLogger("lm_eval").setLevel(logging.ERROR)


def _quiet_git_hash() -> str | None:
    try:
        out = subprocess.run(["git", "describe", "--always"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _quiet_git_lookup() -> None:
    """lm-eval asks git for a commit with stderr attached to the terminal, so every evaluation run
    outside a git checkout prints `fatal: not a git repository`; ask quietly instead."""
    import lm_eval.evaluator

    lm_eval.evaluator.get_git_commit_hash = _quiet_git_hash


def quiet_simple_evaluate(model: Any, tasks: list[str], task_manager: Any, seed: int, **kwargs: Any) -> dict[str, Any]:
    """lm-eval's `simple_evaluate`, seeded everywhere, without its progress bars and log chatter
    (they ignore TQDM_DISABLE and go to stderr; errors still raise)."""
    from lm_eval import simple_evaluate
    import datasets

    silence_lm_eval()
    datasets.disable_progress_bars()
    _quiet_git_lookup()
    with contextlib.redirect_stderr(io.StringIO()):
        return simple_evaluate(model=model, tasks=tasks, task_manager=task_manager, random_seed=seed,
                               numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed,
                               bootstrap_iters=0, verbosity="ERROR", **kwargs)


def run_lm_eval(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, tasks: list[str],
                num_fewshot: int, include_path: Path | None = None, include_defaults: bool = False,
                batch_size: int = 32, limit: int | None = None, seed: int = 0,
                max_length: int | None = None) -> dict[str, Any]:
    """Evaluate an in-memory model; returns {task: {"acc": ..., "acc_stderr": ..., "per_subject": {...}}}."""
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    silence_lm_eval()   # before HFLM warns about in-memory models
    was_training = model.training
    model.eval()
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size,
              max_length=max_length or getattr(model.config, "max_position_embeddings", 2048))
    manager = TaskManager(include_path=str(include_path) if include_path else None,
                          include_defaults=include_defaults)
    out = quiet_simple_evaluate(lm, tasks, manager, seed, num_fewshot=num_fewshot, limit=limit, log_samples=True)
    model.train(was_training)
    results: dict[str, Any] = {}
    for task, metrics in out["results"].items():
        entry = {"acc": metrics.get("acc,none"), "num_fewshot": num_fewshot}
        per_subject: dict[str, list[float]] = defaultdict(list)
        for sample in out.get("samples", {}).get(task, []):
            subject = sample["doc"].get("subject")
            if subject is not None:
                per_subject[subject].append(float(sample["acc"]))
        if per_subject:
            entry["per_subject"] = {s: sum(v) / len(v) for s, v in sorted(per_subject.items())}
            entry["n"] = sum(len(v) for v in per_subject.values())
        results[task] = entry
    return results
