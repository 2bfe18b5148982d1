"""Evaluate a finished run again from its saved model (e.g. MMLU 5-shot on a GPU box later, or a
new downstream task), and write the new numbers into its record atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from .config import ConfigError, RunConfig
from .model_export import load_model_dir, record_model_dir
from .records import write_json_atomic
from .runner import PreparedRun, downstream_metrics, final_metrics, prepare_run
from .training.model import build_model


def reevaluate(record_file: Path, downstream_tasks: list[str] | None = None,
               num_fewshot: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Reload the run's exported model (`record["model_dir"]`) and evaluate it."""
    record = json.loads(record_file.read_text())
    output_dir = record_file.parent.parent
    config = RunConfig(**record["config"])
    prepared = prepare_run(config, output_dir)
    if downstream_tasks is not None:
        _select_downstream(prepared, downstream_tasks, num_fewshot)
    module = SimpleNamespace(model=_load_model(output_dir, record, prepared, device), device=torch.device(device))
    record["final"] = final_metrics(prepared, module)
    record["downstream"] = {**record.get("downstream", {}), **_downstream(prepared, module, downstream_tasks)}
    write_json_atomic(record_file, record)
    return record


def _load_model(output_dir: Path, record: dict[str, Any], prepared: PreparedRun, device: str) -> torch.nn.Module:
    directory = record_model_dir(output_dir, record)
    if directory is not None:
        return load_model_dir(directory, device=device)[0]
    legacy = output_dir / "runs" / record["run_id"] / "final_model.pt"   # records written before model/ existed
    if not legacy.exists():
        raise ConfigError(f"record: no saved model for {record['run_id']} under {output_dir / 'runs'} "
                          "(only completed runs save one)")
    model = build_model(prepared.config.task["model"], prepared.data.vocab_size, prepared.config.seed)
    model.load_state_dict(torch.load(legacy, map_location=device, weights_only=True))
    return model.to(device)


def _local_task_names(prepared: PreparedRun) -> set[str]:
    """The benchmark's own lm-eval tasks (e.g. mini_mmlu), generated beside its data."""
    directory = prepared.data.downstream_dir
    return {p.stem for p in directory.glob("*.yaml")} if directory else set()


def _select_downstream(prepared: PreparedRun, tasks: list[str], num_fewshot: int | None) -> None:
    """Point the config's downstream spec at `tasks`: the benchmark's local tasks, or lm-eval's
    built-in ones (never a mix: they load from different include paths)."""
    local = _local_task_names(prepared)
    chosen = [t for t in tasks if t in local]
    if chosen and len(chosen) != len(tasks):
        raise ConfigError(f"--tasks: {', '.join(chosen)} (this benchmark's own) and "
                          f"{', '.join(t for t in tasks if t not in local)} (lm-eval's) must be evaluated separately")
    evaluation = prepared.config.task.setdefault("evaluation", {})
    spec = dict(evaluation.get("downstream") or {})
    if not chosen:
        spec.pop("limit", None)   # a quick run's limit is for its local probe, not for real benchmarks
    spec.update({"tasks": tasks, "local": bool(chosen)})
    if num_fewshot is not None:
        spec["num_fewshot"] = num_fewshot
    evaluation["downstream"] = spec


def _downstream(prepared: PreparedRun, module: Any, tasks: list[str] | None) -> dict[str, Any]:
    """downstream_metrics, with lm-eval's failures on unknown tasks or missing hub data turned
    into one-line configuration errors."""
    try:
        return downstream_metrics(prepared, module)
    except KeyError as exc:
        raise ConfigError(f"--tasks: {exc.args[0] if exc.args else tasks} "
                          f"(this benchmark's own tasks: {', '.join(sorted(_local_task_names(prepared))) or 'none'})"
                          ) from exc
    except (ConnectionError, OSError) as exc:
        if not _offline():
            raise
        raise ConfigError(f"--tasks {','.join(tasks or [])}: lm-eval needs its data from the Hugging Face hub, "
                          f"and this machine is offline (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE set): "
                          f"{type(exc).__name__}") from exc


def _offline() -> bool:
    return any(os.environ.get(k, "").lower() in ("1", "true", "yes") for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
