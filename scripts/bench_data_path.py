"""Data-path throughput: per-domain memmap shards + MixtureFeeder vs `datasets.interleave_datasets`.

    .venv/bin/python scripts/bench_data_path.py [--domains 22] [--tokens-per-domain 2000000]
        [--batch-size 60] [--seq-len 1024] [--seconds 8]

Writes synthetic prepared shards (K domains of random token ids, with the same writer and manifest
as `prepare_pile`) to a temporary directory, then times, one after the other in one process:

  feeder/sample       MixtureFeeder.next_microbatch() over the memmap blocks, weights = The Pile
                      Weights renormalised over the K domains, one domain draw per sequence (TPW)
  feeder/microbatch   the same with one domain per micro-batch (ODM after warm-up)
  datasets/map        one Arrow dataset of fixed-length blocks per domain (saved to disk and loaded
                      memory-mapped: the usual HF path), each .shuffle()d (the feeder reads each
                      domain in a seeded permutation too), interleave_datasets(probabilities=same
                      weights), iterated with .iter(batch_size=B) in numpy format
  datasets/iterable   the same through IterableDataset (the HF streaming path; shuffle buffer 1000)

Every path hands over a torch int64 tensor [B, seq_len + 1], as the trainer needs. Pages are warm
(the files were just written), so this measures the CPU cost of the data path, not the disk.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.offline import go_offline  # noqa: E402

go_offline()

import datasets  # noqa: E402

datasets.disable_progress_bars()

from benchmark.data.mixture import MixtureFeeder  # noqa: E402
from benchmark.data.pile import canonical_order, published_mixtures, renormalize_weights  # noqa: E402
from benchmark.data.token_shards import (FORMAT, PreparedShards, UnitWriter, ensure_plan,  # noqa: E402
                                         finalize_manifest)
from benchmark.strategies import get_strategy_class  # noqa: E402

VOCAB = 50277  # GPT-NeoX-20B
# Assumed consumer: the paper's 160M GPT-NeoX (12 layers, hidden 768, seq 1024, untied 50k vocab).
MODEL_PARAMS = 162e6
H100_PEAK_FLOPS = 989e12   # dense bf16, SXM
ASSUMED_MFU = 0.40


def write_synthetic_shards(root: Path, domains: list[str], tokens_per_domain: int, seed: int) -> PreparedShards:
    """Random token streams as a one-unit prepared directory (same format as a prepared Pile)."""
    rng = np.random.default_rng(seed)
    header = {"source": "synthetic", "dtype": "uint16", "tokenizer": {"name_or_path": "none", "vocab_size": VOCAB},
              "max_eval_docs": 0, "format": FORMAT}
    ensure_plan(root, {"header": header, "units": [{"id": "synthetic", "split": "train", "sources": []}]})
    writer = UnitWriter(root, "train", "synthetic", np.dtype("<u2"), eos_id=0)
    for domain in domains:
        writer.add_tokens(domain, rng.integers(1, VOCAB, tokens_per_domain, dtype=np.uint16), documents=1)
    writer.commit({"sources": []})
    finalize_manifest(root, header, ["synthetic"], order=canonical_order)
    return PreparedShards(root)


def feeder_batches(blocks: list, strategy, batch_size: int) -> Iterator[torch.Tensor]:
    feeder = MixtureFeeder(blocks, strategy, batch_size=batch_size, grad_accum=1, seed=0)
    while True:
        yield feeder.next_microbatch()["input_ids"]


def domain_datasets(blocks: list, workdir: Path) -> list:
    import pyarrow as pa
    from datasets import Dataset, load_from_disk

    out = []
    for i, b in enumerate(blocks):
        flat = np.asarray(b).reshape(-1)
        table = pa.table({"input_ids": pa.FixedSizeListArray.from_arrays(pa.array(flat), b.shape[1])})
        Dataset(table).save_to_disk(str(workdir / f"d{i}"))
        out.append(load_from_disk(str(workdir / f"d{i}")))   # memory-mapped Arrow, like a real cache
    return out


def datasets_batches(dsets: list, weights: np.ndarray, iterable: bool, batch_size: int) -> Iterator[torch.Tensor]:
    from datasets import interleave_datasets

    for epoch in range(10 ** 9):  # a new shuffle + interleaving per pass, as a trainer would re-create it
        # Each domain is shuffled, like the feeder's per-domain permutation (a fair comparison).
        if iterable:
            sources = [d.to_iterable_dataset().shuffle(seed=epoch, buffer_size=1000) for d in dsets]
        else:
            sources = [d.shuffle(seed=epoch) for d in dsets]
        mixed = interleave_datasets(sources, probabilities=weights.tolist(), seed=epoch,
                                    stopping_strategy="all_exhausted")
        for batch in mixed.with_format("numpy").iter(batch_size=batch_size):
            yield torch.from_numpy(np.asarray(batch["input_ids"], dtype=np.int64))


def measure(make: Callable[[], Iterator[torch.Tensor]], seconds: float) -> tuple[float, float, float]:
    """(setup seconds, samples/s, tokens/s) over `seconds` of steady-state batches."""
    start = time.perf_counter()
    batches = make()
    for _ in range(3):          # warm-up (and the lazy setup of iterators)
        next(batches)
    setup = time.perf_counter() - start
    samples = tokens = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        batch = next(batches)
        samples += batch.shape[0]
        tokens += batch.numel()
    elapsed = time.perf_counter() - start
    return setup, samples / elapsed, tokens / elapsed


def main() -> None:
    order, tables = published_mixtures()
    domains = list(order[:ARGS.domains])
    weights = np.array(list(renormalize_weights(tables["the_pile_weights"], domains).values()))
    sizes = [ARGS.tokens_per_domain] * len(domains)
    width = ARGS.seq_len + 1
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        shards = write_synthetic_shards(Path(tmp) / "shards", domains, ARGS.tokens_per_domain, seed=0)
        blocks = [shards.blocks("train", d, ARGS.seq_len) for d in domains]
        print(f"data: {len(domains)} domains x {ARGS.tokens_per_domain:,} tokens (uint16, "
              f"{sum(len(b) for b in blocks):,} blocks of {width}); written in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        dsets = domain_datasets(blocks, Path(tmp) / "arrow")
        print(f"datasets: Arrow copies built and reloaded in {time.perf_counter() - start:.1f} s")

        fixed = get_strategy_class("fixed")
        odm = get_strategy_class("odm")
        paths = {
            "feeder/sample (TPW)": lambda: feeder_batches(blocks, fixed(domains, sizes, seed=0, weights=dict(
                zip(domains, weights.tolist())), normalize=True), ARGS.batch_size),
            "feeder/microbatch (ODM)": lambda: feeder_batches(blocks, odm(domains, sizes, seed=0, warmup_steps=0),
                                                         ARGS.batch_size),
            "datasets/map interleave": lambda: datasets_batches(dsets, weights, False, ARGS.batch_size),
            "datasets/iterable interleave": lambda: datasets_batches(dsets, weights, True, ARGS.batch_size),
        }
        results = {name: measure(make, ARGS.seconds) for name, make in paths.items()}

    need_tokens = H100_PEAK_FLOPS * ASSUMED_MFU / (6 * MODEL_PARAMS)
    need_samples = need_tokens / ARGS.seq_len
    print(f"\nbatch {ARGS.batch_size} x {width} tokens, {ARGS.seconds:.0f} s per path, 1 process")
    print(f"{'path':30s} {'setup s':>8s} {'samples/s':>11s} {'tokens/s':>13s} {'x H100 need':>12s}")
    for name, (setup, sps, tps) in results.items():
        print(f"{name:30s} {setup:8.2f} {sps:11,.0f} {tps:13,.0f} {sps / need_samples:12.1f}")
    base = results["datasets/map interleave"][1]
    for name in ("feeder/sample (TPW)", "feeder/microbatch (ODM)"):
        print(f"ratio {name} / datasets/map interleave: {results[name][1] / base:.2f}x")
    print(f"\nAssumed consumption: 160M GPT-NeoX on one H100, 6*N FLOPs/token with N = {MODEL_PARAMS / 1e6:.0f}M, "
          f"{H100_PEAK_FLOPS / 1e12:.0f} TFLOP/s dense bf16 peak at {ASSUMED_MFU:.0%} MFU -> "
          f"{need_tokens:,.0f} tokens/s = {need_samples:,.0f} samples/s of {ARGS.seq_len} trained tokens per GPU. "
          "'x H100 need' = how many times faster the path is than that (per data-loading process; "
          "every rank runs its own feeder).")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=22)
    parser.add_argument("--tokens-per-domain", type=int, default=2_000_000)
    parser.add_argument("--batch-size", type=int, default=60)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=8.0)
    ARGS = parser.parse_args()
    main()
