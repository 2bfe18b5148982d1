"""What FLAD's gradient rewards cost: a FLAD update (EXP3-FLAD, with per-round LM-head gradient
deltas, the target pass, the target gradient and the rewards) against a plain mixed update
(Explore-Only: the same G micro-batches of B examples, no target pass, no rewards), measured side
by side in one process on the same model, in interleaved blocks so that machine load affects both.

    python scripts/bench_flad_reward_overhead.py [--blocks 6] [--steps-per-block 5] [--grad-accum 16]

Prints seconds per update of each variant (median over blocks), their ratio, and how much of the
FLAD update is the reward machinery itself (clones of the LM-head gradient, the post-update target
gradient, the reward dot products) versus the extra target pass. Runs on the embedded benchmark.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from benchmark.config import build_strategy
from benchmark.flad.runner import build_flad_data, build_model_bundle, loop_settings, resolve_flad_config
from benchmark.flad.trainer import TARGET_ARM, FladLoop
from benchmark.offline import go_offline

VARIANTS = {
    "plain mixed (explore-only)": ("explore-only", []),
    "FLAD, target gradient after the step (exp3-flad, code)": ("exp3-flad", []),
    "FLAD, target gradient before the step (exp3-flad, target_gradient=before)": ("exp3-flad",
                                                                                 ["method.target_gradient=before"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--steps-per-block", type=int, default=5)
    parser.add_argument("--grad-accum", type=int, default=16)
    parser.add_argument("--target", default="tgt_a")
    parser.add_argument("--output-dir", type=Path, default=Path("benchmark_runs"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    go_offline()
    torch.set_num_threads(args.threads)
    common = [f"training.steps={args.steps_per_block}", "training.eval_every=1000000",
              f"training.grad_accum={args.grad_accum}"]
    configs = {name: resolve_flad_config("embedded-flad", method, 42, args.target, common + extra)
               for name, (method, extra) in VARIANTS.items()}
    first = next(iter(configs.values()))
    data = build_flad_data(first.task["data"], args.output_dir / "flad" / "data")
    bundle = build_model_bundle(first.task["model"], data, args.output_dir / "flad" / "base_models")
    target = data.target(args.target, 42, 0)
    names = [a.name for a in data.arms]
    per_step: dict[str, list[float]] = {name: [] for name in configs}
    reward_share: dict[str, list[float]] = {name: [] for name in configs}
    for block in range(args.blocks + 1):          # block 0 warms up and is discarded
        for name, config in configs.items():
            bandit = config.recipe["strategy"] == "exp3-flad"
            domains = names if bandit else names + [TARGET_ARM]
            sizes = [len(a) for a in data.arms] + ([] if bandit else [len(target.train)])
            strategy = build_strategy(config, domains, sizes, strategy_seed=block)
            loop = FladLoop(bundle, data.arms, target, strategy, loop_settings(config.task["training"]), block)
            result = loop.run()
            seconds = result.timing["train_seconds"]
            if block:
                per_step[name].append(seconds / args.steps_per_block)
                reward_share[name].append(result.timing["reward_seconds"] / seconds)
    plain = statistics.median(per_step["plain mixed (explore-only)"])
    print(f"embedded FLAD benchmark, {len(names)} arms, G={args.grad_accum} micro-batches of "
          f"{first.task['training']['batch_size']}, target train half {len(target.train)} examples, "
          f"{args.blocks} interleaved blocks × {args.steps_per_block} updates, {torch.get_num_threads()} thread(s)")
    print(f"{'variant':78s} {'s/update':>9s} {'× plain':>8s} {'reward machinery':>17s}")
    for name in configs:
        median = statistics.median(per_step[name])
        print(f"{name:78s} {median:9.4f} {median / plain:8.2f} {100 * statistics.median(reward_share[name]):16.1f}%")


if __name__ == "__main__":
    main()
