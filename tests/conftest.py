import os

import pytest

from benchmark.offline import go_offline

go_offline()
os.environ.setdefault("PYTHONHASHSEED", "0")

# A tiny but complete configuration of the embedded benchmark for end-to-end tests.
TINY = [
    "training.steps=16", "training.eval_every=8", "training.checkpoint_every=4", "training.log_every=2",
    "training.batch_size=8", "model.hidden_size=32", "model.num_layers=1", "model.num_heads=2",
    "model.intermediate_size=64", "data.size_scale=0.1", "data.val_sequences=4", "data.test_sequences=4",
    "data.probe_questions=4",
]


@pytest.fixture
def tiny_overrides() -> list[str]:
    return list(TINY)
