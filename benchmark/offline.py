"""Offline switches for the hub-backed libraries (set before they are imported)."""

import os


def go_offline() -> None:
    """No hub in the embedded benchmarks and tests: fail fast instead of retrying downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    quiet_library_progress_bars()


def quiet_library_progress_bars() -> None:
    """lm-eval's per-request tqdm bars drown the run's own output. tqdm reads TQDM_DISABLE when it
    is imported, so the CLI calls this first. (Lightning's training bar is rich, not tqdm.)"""
    os.environ.setdefault("TQDM_DISABLE", "1")
