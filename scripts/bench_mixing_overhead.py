"""Overhead of the mixing machinery: a training step with ODM vs with a static sampler.

Same model, same data, measured side by side in one run: blocks of steps alternate between the
two feeders (so machine noise hits both alike), and the script prints the median time per step of
each and their ratio. The ODM paper claims a negligible overhead; the target here is < 0.5 % at
K ≤ 22 domains.

    python scripts/bench_mixing_overhead.py [--steps-per-block 20 --blocks 10 --domains 22]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from benchmark.data.mixture import MixtureFeeder
from benchmark.strategies import DomainStats, get_strategy_class
from benchmark.training.model import build_model, token_losses


def make_feeder(method: str, blocks: list[np.ndarray], batch_size: int, **hp) -> MixtureFeeder:
    names = [f"d{i}" for i in range(len(blocks))]
    strategy = get_strategy_class(method)(names, [b.size for b in blocks], seed=0, **hp)
    return MixtureFeeder(blocks, strategy, batch_size, grad_accum=1, seed=0)


def train_step(model, optimizer, feeder: MixtureFeeder, num_domains: int) -> None:
    batch = feeder.next_microbatch()
    losses = token_losses(model, batch["input_ids"])
    losses.mean().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    # what the Lightning adapter does after each optimizer step: per-domain stats → strategy
    stats = DomainStats.zeros(num_domains)
    per_seq = losses.detach().sum(dim=1).double().numpy()
    domains = batch["domain"].numpy()
    np.add.at(stats.token_loss_sum, domains, per_seq)
    np.add.at(stats.tokens, domains, losses.shape[1])
    np.add.at(stats.sequences, domains, 1)
    if (domains == domains[0]).all():
        stats.microbatch_loss_sum[domains[0]] += float(losses.detach().mean())
        stats.microbatches[domains[0]] += 1
    feeder.update_strategy(feeder.step - 1, stats, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=22)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--steps-per-block", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=128)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    blocks = [rng.integers(3, 515, size=(200, args.seq_len + 1)) for _ in range(args.domains)]
    model = build_model({"hidden_size": args.hidden, "num_layers": 2, "num_heads": 4,
                         "max_positions": args.seq_len}, 515, seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    feeders = {"static (proportional)": make_feeder("proportional", blocks, args.batch_size),
               "odm (code form)": make_feeder("odm", blocks, args.batch_size, form="code", warmup_steps=0),
               "odm (paper form)": make_feeder("odm", blocks, args.batch_size, form="paper", warmup_steps=0)}
    for feeder in feeders.values():            # warm-up: allocator, kernels
        for _ in range(3):
            train_step(model, optimizer, feeder, args.domains)
    times: dict[str, list[float]] = {name: [] for name in feeders}
    for _ in range(args.blocks):
        for name, feeder in feeders.items():
            start = time.perf_counter()
            for _ in range(args.steps_per_block):
                train_step(model, optimizer, feeder, args.domains)
            times[name].append((time.perf_counter() - start) / args.steps_per_block)
    base = statistics.median(times["static (proportional)"])
    print(f"K = {args.domains} domains, batch {args.batch_size} x {args.seq_len + 1} tokens, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params, "
          f"{args.blocks} interleaved blocks of {args.steps_per_block} steps")
    print(f"{'feeder':24s} {'median s/step':>14s} {'ratio':>8s} {'strategy ms/step':>17s}")
    for name, feeder in feeders.items():
        median = statistics.median(times[name])
        per_step_strategy = 1e3 * feeder.strategy_seconds / (feeder.step - 1)
        print(f"{name:24s} {median:14.5f} {median / base:8.4f} {per_step_strategy:17.4f}")
    for name, feeder in feeders.items():
        share = feeder.strategy_seconds / (feeder.step - 1) / statistics.median(times[name])
        print(f"time inside the strategy (plan + update), {name}: {100 * share:.3f}% of a step")


if __name__ == "__main__":
    main()
