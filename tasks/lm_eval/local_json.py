"""lm-eval `custom_dataset` for this directory's task files: local JSONL files, with relative paths
resolved against THIS directory (lm-eval passes `data_files` to `datasets` as is, which resolves
them against the working directory). Absolute paths are kept (the benchmark's generated copies).

    custom_dataset: !function local_json.load
    dataset_kwargs: {data_files: {test: data/mini_mmlu_test.jsonl}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def resolve(data_files: dict[str, str]) -> dict[str, str]:
    """{split: path}, relative paths taken from this directory."""
    return {split: str(HERE / path) for split, path in data_files.items()}


def load(data_files: dict[str, str], **_metadata: Any) -> Any:
    """The DatasetDict of the JSONL files (lm-eval also passes the task's metadata: ignored)."""
    import datasets

    files = resolve(data_files)
    missing = [path for path in files.values() if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"lm-eval task data not found: {', '.join(missing)}")
    return datasets.load_dataset("json", data_files=files)
