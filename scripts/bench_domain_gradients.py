"""Seconds per training step with the domain-gradients capability (DGA, DoGE) against a plain step,
on embedded-pretrain's model and data, side by side.

    python scripts/bench_domain_gradients.py [--rounds 3] [--steps 20] [--batch-size 16]

One process; each round trains `--steps` steps of every variant in turn (so machine load hits all
of them alike), each from the same initial weights: a plain step (uniform mixture, no capability),
DGA (every T steps one fresh batch per domain and one target batch, source "extra") and the DoGE
proxy (the step's batch split by domain, source "step"; "combined" rewrites the step's gradient),
each with LM-head gradients and with full-model gradients. The step is the training module's own
sequence (capability hooks around forward/backward/clip/AdamW); evaluation and data loading are
left out. Prints the median seconds per step over the rounds and the ratio to the plain step.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from benchmark.config import resolve_config
from benchmark.runner import prepare_run
from benchmark.strategies import get_strategy_class
from benchmark.training.domain_gradients import for_pretraining
from benchmark.training.model import build_model
from benchmark.training.objectives import TokenBlocks


def variants() -> dict[str, tuple[str, dict[str, Any]] | None]:
    return {"plain (uniform)": None,
            "DGA, lm_head": ("dga", {"parameters": "lm_head"}),
            "DGA, lm_head, 4 per domain": ("dga", {"parameters": "lm_head", "domain_batch_size": 4}),
            "DoGE proxy, lm_head": ("doge-proxy", {"parameters": "lm_head", "model_update": "loss_weights"}),
            "DoGE proxy, combined": ("doge-proxy", {"parameters": "lm_head"}),   # per-domain full backward
            "DGA, all": ("dga", {"parameters": "all"}),
            "DoGE proxy, all": ("doge-proxy", {"parameters": "all"})}


def steps_seconds(prepared: Any, variant: tuple[str, dict[str, Any]] | None, steps: int, batch_size: int,
                  state: dict[str, torch.Tensor]) -> float:
    data, training = prepared.data, prepared.config.task["training"]
    model = build_model(prepared.config.task["model"], data.vocab_size, 0)
    model.load_state_dict(state)
    optimizer = torch.optim.AdamW(model.parameters(), lr=training["lr"])
    domains = list(data.domains)
    strategy = get_strategy_class(variant[0] if variant else "uniform")(domains, list(data.sizes), seed=0,
                                                                       **(variant[1] if variant else {}))
    capability = for_pretraining(strategy, data, prepared.target_blocks, training, 0) if variant else None
    trainer = SimpleNamespace(global_rank=0, world_size=1, global_step=0, optimizers=[optimizer],
                              datamodule=SimpleNamespace(feeder=SimpleNamespace(strategy=strategy)))
    module = SimpleNamespace(model=model, objective=TokenBlocks(), device=torch.device("cpu"), trainer=trainer)
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        picks = rng.choice(len(domains), size=batch_size, p=strategy.current_weights(step))
        rows = np.stack([data.train_blocks[d][rng.integers(len(data.train_blocks[d]))] for d in picks])
        batch = {"input_ids": torch.from_numpy(rows.astype(np.int64) + data.token_offset),
                 "domain": torch.from_numpy(picks)}
        if capability:
            capability.before_microbatch(module, batch)
        weights = strategy.loss_weights(picks) if hasattr(strategy, "loss_weights") else None
        module.objective(model, batch, module.device, weights).loss.backward()
        if capability:
            capability.before_optimizer_step(module)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        trainer.global_step = step
        if capability:
            capability.after_optimizer_step(module, None)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="steps per variant per round (DGA: T = 10)")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare_run(resolve_config("embedded-pretrain", "dga", 0, [], target="code"), Path(tmp))
        state = build_model(prepared.config.task["model"], prepared.data.vocab_size, 0).state_dict()
        named = variants()
        times: dict[str, list[float]] = {name: [] for name in named}
        for round_index in range(args.rounds + 1):   # round 0 warms up
            for name, variant in named.items():
                seconds = steps_seconds(prepared, variant, args.steps, args.batch_size, state)
                if round_index:
                    times[name].append(seconds)
    plain = statistics.median(times["plain (uniform)"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:24s} {median * 1000:8.1f} ms per step  {median / plain:6.2f}x plain   "
              f"({', '.join(f'{v * 1000:.0f}' for v in values)})")


if __name__ == "__main__":
    main()
