"""Overhead of the mixing machinery: a training step with ODM vs with a static sampler.

Same model, same data, measured side by side in one run: blocks of steps alternate between the
feeders (so machine noise hits them alike), and the script prints the median time per step of
each, their ratio, and the share of a step spent inside the strategy (plan + update). The ODM
paper claims a negligible overhead; the target here is < 0.5 % at K ≤ 22 domains.

CPU (embedded model):   python scripts/bench_mixing_overhead.py
GPU (ODM's 160M model): python scripts/bench_mixing_overhead.py --task pile-odm-160m --device cuda \
                            --bf16 --batch-size 16 --peak-tflops 989
With --task, the model comes from that task file and the script also prints tokens/s and MFU
(6·N FLOPs per trained token over the stated peak). Data are random tokens: only speed matters.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

import numpy as np
import torch

from benchmark.config import load_task
from benchmark.data.mixture import MixtureFeeder
from benchmark.strategies import DomainStats, get_strategy_class
from benchmark.training.model import build_model, token_losses

EMBEDDED_MODEL = {"hidden_size": 128, "num_layers": 2, "num_heads": 4, "intermediate_size": 512}


def make_feeder(method: str, blocks: list[np.ndarray], batch_size: int, **hp) -> MixtureFeeder:
    names = [f"d{i}" for i in range(len(blocks))]
    strategy = get_strategy_class(method)(names, [b.size for b in blocks], seed=0, **hp)
    return MixtureFeeder(blocks, strategy, batch_size, grad_accum=1, seed=0)


def train_step(model, optimizer, feeder: MixtureFeeder, num_domains: int, device: str, autocast) -> None:
    batch = feeder.next_microbatch()
    with autocast():
        losses = token_losses(model, batch["input_ids"].to(device, non_blocking=True))
    losses.mean().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    # what the Lightning adapter does after each optimizer step: per-domain stats → strategy
    stats = DomainStats.zeros(num_domains)
    per_seq = losses.detach().sum(dim=1).double().cpu().numpy()
    domains = batch["domain"].numpy()
    np.add.at(stats.token_loss_sum, domains, per_seq)
    np.add.at(stats.tokens, domains, losses.shape[1])
    np.add.at(stats.sequences, domains, 1)
    if (domains == domains[0]).all():
        stats.microbatch_loss_sum[domains[0]] += float(per_seq.sum() / losses.numel())
        stats.microbatches[domains[0]] += 1
    feeder.update_strategy(feeder.step - 1, stats, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default=None, help="take the model config from this task (e.g. pile-odm-160m)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    parser.add_argument("--domains", type=int, default=22)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--steps-per-block", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--vocab", type=int, default=515)
    parser.add_argument("--peak-tflops", type=float, default=None, help="for MFU, e.g. 989 (H100 bf16 dense)")
    args = parser.parse_args()
    spec = dict(EMBEDDED_MODEL, max_positions=args.seq_len)
    if args.task:
        spec = load_task(args.task)["model"]
        args.seq_len = spec["max_positions"]
        args.vocab = 50_304
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    blocks = [rng.integers(0, args.vocab, size=(64, args.seq_len + 1)) for _ in range(args.domains)]
    model = build_model(spec, args.vocab, seed=0).to(args.device)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    autocast = (lambda: torch.autocast(args.device.split(":")[0], dtype=torch.bfloat16)) if args.bf16 else nullcontext
    feeders = {"static (proportional)": make_feeder("proportional", blocks, args.batch_size),
               "odm (code form)": make_feeder("odm", blocks, args.batch_size, form="code", warmup_steps=0),
               "odm (paper form)": make_feeder("odm", blocks, args.batch_size, form="paper", warmup_steps=0)}
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    for feeder in feeders.values():            # warm-up: allocator, kernels
        for _ in range(3):
            train_step(model, optimizer, feeder, args.domains, args.device, autocast)
    times: dict[str, list[float]] = {name: [] for name in feeders}
    for _ in range(args.blocks):
        for name, feeder in feeders.items():
            sync()
            start = time.perf_counter()
            for _ in range(args.steps_per_block):
                train_step(model, optimizer, feeder, args.domains, args.device, autocast)
            sync()
            times[name].append((time.perf_counter() - start) / args.steps_per_block)
    base = statistics.median(times["static (proportional)"])
    tokens = args.batch_size * args.seq_len
    print(f"K = {args.domains} domains, batch {args.batch_size} x {args.seq_len + 1} tokens, {params / 1e6:.2f}M params "
          f"on {args.device}{' bf16' if args.bf16 else ''}, {args.blocks} interleaved blocks of {args.steps_per_block} steps")
    print(f"{'feeder':24s} {'median s/step':>14s} {'ratio':>8s} {'tokens/s':>12s} {'strategy ms/step':>17s}"
          + (f" {'MFU':>7s}" if args.peak_tflops else ""))
    for name, feeder in feeders.items():
        median = statistics.median(times[name])
        per_step_strategy = 1e3 * feeder.strategy_seconds / (feeder.step - 1)
        line = f"{name:24s} {median:14.5f} {median / base:8.4f} {tokens / median:12.0f} {per_step_strategy:17.4f}"
        if args.peak_tflops:
            line += f" {6 * params * tokens / median / (args.peak_tflops * 1e12):7.2%}"
        print(line)
    for name, feeder in feeders.items():
        share = feeder.strategy_seconds / (feeder.step - 1) / statistics.median(times[name])
        print(f"time inside the strategy (plan + update), {name}: {100 * share:.3f}% of a step")


if __name__ == "__main__":
    main()
