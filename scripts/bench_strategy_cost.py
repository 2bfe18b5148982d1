"""Per-step cost of the online bandit strategies (plan + update), in microseconds.

    python scripts/bench_strategy_cost.py [--steps 1000] [--log-every 0]

For K = 22 (the Pile), 260 (P3) and 10,000 arms, with G = 16 micro-batches of 8 sequences per
optimizer step. Building the per-step statistics (the trainer's job) is not timed. Per-step weight
logging is off by default (--log-every 0): it is a reporting cost, not the method's.
Target: ≤ 1 ms per step at K = 10,000.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from benchmark.strategies import DomainStats, get_strategy_class

ARMS = (22, 260, 10_000)
G, B = 16, 8
METHODS = {  # label -> (strategy name, hyperparameters)
    "odm (paper)": ("odm", {"form": "paper", "warmup_steps": 0}),
    "odm (code)": ("odm", {"form": "code", "warmup_steps": 0}),
    "exp3": ("exp3", {"warmup_steps": 0}),
    "exp3-flad": ("exp3-flad", {}),
    "ucb1-flad": ("ucb1-flad", {}),
}


def step_stats(plan: np.ndarray, num_arms: int, rng: np.random.Generator) -> DomainStats:
    """What the trainer would report for `plan`: a loss per micro-batch and a reward per pulled arm."""
    rows = plan[:, 0]
    stats = DomainStats.zeros(num_arms)
    stats.microbatches[:] = np.bincount(rows, minlength=num_arms)
    stats.microbatch_loss_sum[:] = np.bincount(rows, weights=rng.uniform(1.0, 4.0, len(rows)), minlength=num_arms)
    stats.sequences[:] = stats.microbatches * plan.shape[1]
    stats.tokens[:] = stats.sequences * 1024
    stats.token_loss_sum[:] = stats.microbatch_loss_sum * plan.shape[1] * 1024
    stats.rewards = np.where(stats.microbatches > 0, rng.uniform(-1.0, 2.0, num_arms), np.nan)
    return stats


def per_step_us(name: str, params: dict, num_arms: int, steps: int, log_every: int) -> float:
    rng = np.random.default_rng(0)
    strategy = get_strategy_class(name)([f"d{i}" for i in range(num_arms)], list(rng.uniform(1, 100, num_arms)),
                                        seed=0, log_every=log_every, **params)
    if name == "ucb1-flad":
        strategy.set_warm_start_rewards(rng.uniform(-1.0, 1.0, num_arms))
    times = []
    for step in range(1, steps + 1):
        start = time.perf_counter()
        plan = strategy.plan(step, G, B)
        elapsed = time.perf_counter() - start
        stats = step_stats(plan, num_arms, rng)
        start = time.perf_counter()
        strategy.update(step, stats)
        times.append(elapsed + time.perf_counter() - start)
    return float(np.median(times[steps // 10:])) * 1e6  # drop the first 10% (caches, allocator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps per measurement")
    parser.add_argument("--log-every", type=int, default=0, help="strategy log_every (0: no weight log)")
    args = parser.parse_args()
    print(f"per-step cost, plan + update, µs (median of {args.steps} steps; G = {G} micro-batches of {B}; "
          f"log_every = {args.log_every})")
    print(f"{'method':14s}" + "".join(f"{f'K = {k:,}':>14s}" for k in ARMS))
    for label, (name, params) in METHODS.items():
        cells = [per_step_us(name, params, k, args.steps, args.log_every) for k in ARMS]
        print(f"{label:14s}" + "".join(f"{c:14.1f}" for c in cells))


if __name__ == "__main__":
    main()
