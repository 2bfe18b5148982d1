"""Test accuracy of a finished FLAD run, through lm-eval, under the task's protocol(s)."""

from __future__ import annotations

from typing import Any

from .evaluation import lm_eval_accuracy, lm_eval_builtin_accuracy, lm_eval_task_name


def test_accuracy(run: Any) -> dict[str, Any]:
    """{"acc", "n", "protocol", "by_protocol": {protocol: result}} — the headline protocol first."""
    config, bundle, target = run.config, run.bundle, run.target
    evaluation = config.task["evaluation"]
    protocol = evaluation.get("protocol", "t0_rank")
    work = run.output_dir / "flad" / "lm_eval" / f"{config.run_id}__{target.name}"
    batch_size = evaluation.get("batch_size", 64)
    by_protocol: dict[str, Any] = {}
    for p in [protocol, *[x for x in evaluation.get("also", []) if x != protocol]]:
        if p == "lm_eval_builtin":
            by_protocol[p] = lm_eval_builtin_accuracy(bundle, run.data.targets[target.name].lm_eval_task,
                                                      batch_size, config.seed)
            continue
        docs = target.test if p == "t0_rank" else target.test_fixed
        result = lm_eval_accuracy(bundle, docs, p, lm_eval_task_name(config.task_name, target.name, p), work,
                                  batch_size, config.seed)
        result.pop("scores")
        by_protocol[p] = result
    headline = by_protocol[protocol]
    return {"acc": headline["acc"], "n": headline.get("n"), "protocol": protocol, "by_protocol": by_protocol}
