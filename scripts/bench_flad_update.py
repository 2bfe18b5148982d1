"""Seconds per FLAD update: the Lightning path of this checkout against another checkout (by default
the last commit with the plain FLAD loop), and against a plain mixed update, side by side.

    python scripts/bench_flad_update.py [--ref 33fb9a7] [--rounds 3] [--steps 20] [--method exp3-flad]

Each round runs, in alternation so machine load hits all of them alike, one short embedded-flad
run per variant in a subprocess (`python -m benchmark run ... --fresh`), and reads the record's
training seconds (evaluation excluded) / updates. Prints the median per variant and the ratios.
The other checkout is a temporary `git worktree` of --ref, run with this interpreter.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD_LOOP_REF = "33fb9a7"   # the last commit whose FLAD runs used benchmark/flad/trainer.py


def one_run(checkout: Path, method: str, steps: int, out: Path) -> float:
    command = [sys.executable, "-m", "benchmark", "run", "--task", "embedded-flad", "--method", method,
               "--target", "tgt_a", "--seed", "42", "--set", f"training.steps={steps}",
               "--set", "training.eval_every=100000", "--output-dir", str(out), "--no-tracking", "--no-progress",
               "--fresh"]
    subprocess.run(command, cwd=checkout, check=True, capture_output=True, text=True)
    (record,) = [json.loads(p.read_text()) for p in (out / "records").glob(f"*__{method}__*.json")]
    return record["timing"]["train_seconds"] / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", default=OLD_LOOP_REF, help="the checkout to compare with (a git ref)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--method", default="exp3-flad")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(old), args.ref], cwd=ROOT, check=True)
        try:
            variants = {f"{args.method}, plain loop ({args.ref})": (old, args.method),
                        f"{args.method}, Lightning module (this checkout)": (ROOT, args.method),
                        "explore-only, Lightning module (no capability)": (ROOT, "explore-only")}
            times: dict[str, list[float]] = {name: [] for name in variants}
            for round_index in range(args.rounds + 1):   # round 0 warms the caches (data, base model)
                for name, (checkout, method) in variants.items():
                    seconds = one_run(checkout, method, args.steps, Path(tmp) / f"out-{checkout.name}")
                    if round_index:
                        times[name].append(seconds)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    medians = {name: statistics.median(values) for name, values in times.items()}
    names = list(medians)
    for name in names:
        print(f"{name:60s} {medians[name] * 1000:8.1f} ms per update  ({', '.join(f'{v * 1000:.0f}' for v in times[name])})")
    print(f"new / old ({args.method}):            {medians[names[1]] / medians[names[0]]:.3f}x")
    print(f"{args.method} / explore-only (new path): {medians[names[1]] / medians[names[2]]:.3f}x")


if __name__ == "__main__":
    main()
