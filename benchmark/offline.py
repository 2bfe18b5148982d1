"""Offline switches for the hub-backed libraries (set before they are imported)."""

import os


def go_offline() -> None:
    """No hub in the embedded benchmarks and tests: fail fast instead of retrying downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # lm-eval's per-request tqdm bars drown the run's own output; tqdm reads this at import time.
    # (Lightning's training progress bar is rich, not tqdm, and stays.)
    os.environ.setdefault("TQDM_DISABLE", "1")
