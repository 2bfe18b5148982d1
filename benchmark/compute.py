"""Compute accounting shared by every record family: what a method consumed, in tokens and FLOPs.

Convention (docs/metrics.md, "Compute"): N = the model's TOTAL parameter count (every parameter
once, tied matrices once). A training token costs 6·N FLOPs (2·N forward + 4·N backward), an extra
forward-only token 2·N and an extra backward 4·N. Total counts N rather than non-embedding N
because the LM head is a real matmul on every token; the input-embedding lookup is over-counted,
which makes the estimate slightly conservative for tiny models.
"""

from __future__ import annotations

from typing import Any, Iterable

PARAMS_CONVENTION = "total"
FORWARD, BACKWARD = 2, 4            # FLOPs per parameter per token
TRAIN = FORWARD + BACKWARD
PROXY_KINDS = {"doremi-proxy"}      # extra runs whose every training token is also scored by a reference
PROBE_KINDS = {"warm_start"}        # entries whose passes are counted in extra_*_tokens, not as a run


def count_params(model: Any) -> int:
    """Total parameters of a torch module (`parameters()` yields a tied matrix once)."""
    return int(sum(p.numel() for p in model.parameters()))


def gpt_neox_params(spec: dict[str, Any], vocab_size: int) -> int:
    """Parameters of `training.model.build_model(spec, vocab_size)`, from the spec alone (backfill).

    Per layer: 2 LayerNorms (4d) + QKV (3d² + 3d) + attention out (d² + d) + MLP (2dI + I + d);
    plus the input embedding (Vd), final LayerNorm (2d) and an untied LM head (Vd)."""
    d = int(spec["hidden_size"])
    inner = int(spec.get("intermediate_size") or 4 * d)
    layer = 4 * d * d + 2 * d * inner + 9 * d + inner
    head = 0 if spec.get("tie_embeddings", False) else vocab_size * d
    return int(spec["num_layers"]) * layer + vocab_size * d + 2 * d + head


def run_flops(params: int | None, tokens: float | None, kind: str = "") -> float | None:
    """FLOPs of one training run of `tokens` tokens; a DoReMi proxy also runs its reference forward."""
    if kind in PROBE_KINDS:
        return 0.0
    if params is None or tokens is None:
        return None
    per_token = TRAIN + (FORWARD if kind in PROXY_KINDS else 0)
    return float(per_token * params * tokens)


def extra_flops(params: int, forward_tokens: float, backward_tokens: float) -> float:
    return float(FORWARD * params * forward_tokens + BACKWARD * params * backward_tokens)


def with_totals(compute: dict[str, Any]) -> dict[str, Any]:
    """`compute` with extra_runs' missing flops filled (same model) and total_flops recomputed:
    call again whenever extra_runs change (DoReMi's pipeline, a sweep's final run)."""
    params = compute.get("params")
    runs = [{**run, "flops": run["flops"] if run.get("flops") is not None
             else run_flops(params, run.get("tokens"), run.get("kind", ""))}
            for run in compute.get("extra_runs") or []]
    parts = [compute.get("train_flops"), compute.get("extra_flops"), *(r["flops"] for r in runs)]
    total = None if any(p is None for p in parts) else float(sum(parts))
    return {**compute, "extra_runs": runs, "total_flops": total}


def compute_section(steps: int, train_tokens: int, params: int, *, extra_forward_tokens: int = 0,
                    extra_backward_tokens: int = 0, extra_runs: Iterable[dict[str, Any]] = (),
                    method_seconds: float = 0.0) -> dict[str, Any]:
    """A record's `compute`: the method's training, its extra passes, its extra runs and the total."""
    return with_totals({
        "steps": int(steps), "train_tokens": int(train_tokens), "params": int(params),
        "params_convention": PARAMS_CONVENTION, "train_flops": float(TRAIN * params * train_tokens),
        "extra_forward_tokens": int(extra_forward_tokens), "extra_backward_tokens": int(extra_backward_tokens),
        "extra_flops": extra_flops(params, extra_forward_tokens, extra_backward_tokens),
        "probe_steps": 0, "extra_runs": list(extra_runs), "method_seconds": float(method_seconds)})


def extra_run(record: dict[str, Any], kind: str, **more: Any) -> dict[str, Any]:
    """An `extra_runs` entry for another run's record (its FLOPs: recorded, else estimated)."""
    compute = record.get("compute") or {}
    return {"kind": kind, "run_id": record.get("run_id"), "steps": compute.get("steps"),
            "tokens": compute.get("train_tokens"), "flops": record_flops(record)["total"],
            "seconds": (record.get("timing") or {}).get("train_seconds"), **more}


# ---- backfill: records written before compute accounting ------------------------------------------
def vocab_size(task: dict[str, Any]) -> int | None:
    """The vocabulary of an embedded benchmark's model, from its task config; None for hub models."""
    data = task.get("data") or {}
    if data.get("builder") == "synthetic_pretrain":
        from .data.synthetic_pretrain import SPECIAL_TOKENS, VOCAB_WORDS
        return len(SPECIAL_TOKENS) + VOCAB_WORDS
    if data.get("builder") == "embedded":
        from .flad import synthetic
        return len(synthetic.vocabulary(synthetic.resolve_spec(data)))
    return None


def params_from_config(record: dict[str, Any]) -> int | None:
    task = (record.get("config") or {}).get("task") or {}
    model = task.get("model") or {}
    vocab = vocab_size(task)
    if vocab is None or model.get("family", "gpt_neox") != "gpt_neox" or not {"hidden_size", "num_layers"} <= set(model):
        return None
    return gpt_neox_params(model, vocab)


def _estimated_extra_tokens(record: dict[str, Any], params_known: bool) -> tuple[float, float]:
    """(forward, backward) extra tokens of a record without them, from what the code does:
    a reference-model strategy scores every training token; a FLAD bandit with target_gradient
    "after" re-scores the target train half (forward + head backward) after every update, and a
    warm start scores its examples once. FLAD token counts per example are averaged from train_tokens."""
    compute, flad = record.get("compute") or {}, record.get("flad") or {}
    tokens, steps = float(compute.get("train_tokens") or 0), int(compute.get("steps") or 0)
    if record.get("strategy") == "doremi-proxy" and "doremi" not in record:   # the proxy, not the main run
        return tokens, 0.0
    if flad.get("mode") != "bandit" or not steps or not params_known:
        return 0.0, 0.0
    training = ((record.get("config") or {}).get("task") or {}).get("training") or {}
    targets = int((flad.get("few_shot") or {}).get("train") or 0)
    per_step = int(training.get("batch_size", 0)) * int(training.get("grad_accum", 1)) + targets
    per_example = tokens / (steps * per_step) if per_step else 0.0
    probes = steps * targets if flad.get("target_gradient", "after") == "after" else 0
    probes += sum(int(r.get("examples") or 0) for r in compute.get("extra_runs") or [] if r.get("kind") == "warm_start")
    return probes * per_example, probes * per_example


def record_flops(record: dict[str, Any]) -> dict[str, Any]:
    """{params, train, extra, runs, total, estimated}: the record's own numbers, or (records written
    before compute accounting) estimates from steps, tokens and the config's model size."""
    compute = record.get("compute") or {}
    if compute.get("total_flops") is not None:
        runs = sum(r.get("flops") or 0.0 for r in compute.get("extra_runs") or [])
        return {"params": compute.get("params"), "train": compute["train_flops"], "extra": compute["extra_flops"],
                "runs": runs, "total": compute["total_flops"], "estimated": False}
    params = compute.get("params") or params_from_config(record)
    forward, backward = _estimated_extra_tokens(record, params is not None)
    estimate = with_totals({"params": params, "extra_runs": compute.get("extra_runs") or [],
                            "train_flops": run_flops(params, compute.get("train_tokens")),
                            "extra_flops": None if params is None else extra_flops(params, forward, backward)})
    runs = [r["flops"] for r in estimate["extra_runs"]]
    return {"params": params, "train": estimate["train_flops"], "extra": estimate["extra_flops"],
            "runs": None if any(f is None for f in runs) else float(sum(runs)),
            "total": estimate["total_flops"], "estimated": True}


def cumulative_flops(record: dict[str, Any], step: float) -> float | None:
    """FLOPs spent by the time training reaches `step`: all extra runs (paid before training starts,
    so amortised in full) + step/steps of the run's own training and extra passes."""
    flops, steps = record_flops(record), (record.get("compute") or {}).get("steps")
    if flops["total"] is None or not steps:
        return None
    return flops["runs"] + (flops["train"] + flops["extra"]) * float(step) / float(steps)
