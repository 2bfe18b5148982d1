"""A finished run's model as a Hugging Face directory (config.json, model.safetensors, tokenizer
files, generation_config.json), so that plain transformers and the real `lm_eval` CLI load it:

    AutoModelForCausalLM.from_pretrained("benchmark_runs/runs/<run_id>/model")   # T5: AutoModelForSeq2SeqLM
    AutoTokenizer.from_pretrained("benchmark_runs/runs/<run_id>/model")
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

MODEL_DIR_NAME = "model"      # runs/<run_id>/model/


def save_model_dir(model: Any, tokenizer: Any, directory: Path | str) -> Path:
    """Write `model` and `tokenizer` with `save_pretrained` into a temporary directory beside
    `directory`, then move it into place (replacing an older export): a reader never sees half a
    model, and a crash leaves at most a stray `.model.*` temporary directory."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()   # its per-shard bar would interleave with the run's own output
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        _ensure_generation_config(model, tmp)
        _replace_dir(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _ensure_generation_config(model: Any, directory: Path) -> None:
    """save_pretrained writes generation_config.json only for models that carry one."""
    if (directory / "generation_config.json").exists():
        return
    from transformers import GenerationConfig

    GenerationConfig.from_model_config(model.config).save_pretrained(str(directory))


def _replace_dir(new: Path, target: Path) -> None:
    """rename() cannot replace a non-empty directory: move the old one aside first, then delete it."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_model_dir(directory: Path | str, kind: str = "causal", device: str = "cpu") -> tuple[Any, Any]:
    """(model, tokenizer) of an exported directory; `kind` is causal or seq2seq (T5 / T0)."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    cls = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
    model = cls.from_pretrained(str(directory)).to(device)
    return model, AutoTokenizer.from_pretrained(str(directory))


def run_model_dir(output_dir: Path, run_id: str) -> Path:
    """Where a run's exported model lives: <output_dir>/runs/<run_id>/model."""
    return output_dir / "runs" / run_id / MODEL_DIR_NAME


def relative_model_dir(output_dir: Path, directory: Path) -> str:
    """The record's `model_dir`: relative to the output directory, so the tree can be moved."""
    return Path(os.path.relpath(directory, output_dir)).as_posix()


def record_model_dir(output_dir: Path, record: dict[str, Any]) -> Path | None:
    """The exported model directory a result record points to, if it is there."""
    relative = record.get("model_dir")
    if not relative:
        return None
    directory = output_dir / relative
    return directory if (directory / "config.json").is_file() else None
