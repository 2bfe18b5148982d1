"""The embedded FLAD benchmark's test sets as shipped lm-eval task files (tasks/lm_eval/flad/),
for the real `lm_eval` CLI on an exported run model. Maintainers regenerate them with

    python -m benchmark.flad.lm_eval_tasks tasks/lm_eval

The test examples (and their seeded templates) do not depend on the few-shot split seed."""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import load_task
from .evaluation import lm_eval_task_name, task_yaml, write_docs
from .runner import build_flad_data

TASK = "embedded-flad"
PROTOCOL_DOCS = {"t0_rank": "test", "lm_eval_acc": "test_fixed"}   # the docs each protocol scores


def write_shipped_tasks(lm_eval_dir: Path, cache_dir: Path, split_seed: int = 42) -> list[Path]:
    """One task file per (target, protocol) in lm_eval_dir/flad/, data in lm_eval_dir/flad/data/."""
    spec = load_task(TASK)["data"]
    data = build_flad_data(spec, cache_dir, log=lambda _: None)
    written = []
    for target in sorted(data.targets):
        docs = data.target(target, split_seed, spec.get("template_seed", 0))
        for protocol, attribute in PROTOCOL_DOCS.items():
            name = lm_eval_task_name(TASK, target, protocol)
            write_docs(lm_eval_dir / "flad" / "data" / f"{name}.jsonl", getattr(docs, attribute))
            path = lm_eval_dir / "flad" / f"{name}.yaml"
            path.write_text(task_yaml(name, protocol, f"flad/data/{name}.jsonl", include=f"{protocol}.yaml"))
            written.append(path)
    return written


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print("\n".join(map(str, write_shipped_tasks(Path(sys.argv[1]), Path(tmp)))))
