"""Evaluate a finished run again from its saved weights (e.g. MMLU 5-shot on a GPU box later, or a
new downstream task), and write the new numbers into its record atomically."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from .config import ConfigError, RunConfig
from .records import write_json_atomic
from .runner import downstream_metrics, final_metrics, prepare_run
from .training.model import build_model


def reevaluate(record_file: Path, downstream_tasks: list[str] | None = None,
               num_fewshot: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Reload `runs/<run_id>/final_model.pt` beside the record's directory and evaluate it."""
    record = json.loads(record_file.read_text())
    output_dir = record_file.parent.parent
    weights = output_dir / "runs" / record["run_id"] / "final_model.pt"
    if not weights.exists():
        raise ConfigError(f"record: no saved weights at {weights} (only completed runs save them)")
    config = RunConfig(**record["config"])
    if downstream_tasks is not None:
        spec = config.task["evaluation"].setdefault("downstream", {}) or {}
        spec.update({"tasks": downstream_tasks, "local": False})
        if num_fewshot is not None:
            spec["num_fewshot"] = num_fewshot
        config.task["evaluation"]["downstream"] = spec
    prepared = prepare_run(config, output_dir)
    model = build_model(config.task["model"], prepared.data.vocab_size, config.seed)
    model.load_state_dict(torch.load(weights, map_location=device, weights_only=True))
    module = SimpleNamespace(model=model.to(device), device=torch.device(device))
    record["final"] = final_metrics(prepared, module)
    record["downstream"] = {**record.get("downstream", {}), **downstream_metrics(prepared, module)}
    write_json_atomic(record_file, record)
    return record
