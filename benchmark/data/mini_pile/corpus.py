"""Writing mini-pile in the Pile's published format: `train/NN.jsonl.zst`, `val.jsonl.zst`,
`test.jsonl.zst`, one `{"text": ..., "meta": {"pile_set_name": ...}}` per line.

Everything that decides the bytes is fixed here: documents are sorted, every 16th of a domain
goes to validation and another to test (so each split holds every domain), each split is
shuffled with a fixed seed, and zstd runs at a fixed level in one thread.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Sequence

import zstandard

from ..token_shards import file_sha256
from .documents import Document

SPLIT_PERIOD = 16
SPLIT_SLOTS = {5: "validation", 13: "test"}      # positions within each period; the rest is train
TRAIN_FILES = 2                                   # two units, so `--num-proc 2` has work for both
ZSTD_LEVEL = 10


def split_documents(documents: Sequence[Document]) -> dict[str, list[Document]]:
    """Per domain in sorted order: position i goes to SPLIT_SLOTS.get(i % SPLIT_PERIOD, "train")."""
    splits: dict[str, list[Document]] = {"train": [], "validation": [], "test": []}
    by_domain: dict[str, list[Document]] = {}
    for doc in sorted(documents, key=lambda d: d.key):
        by_domain.setdefault(doc.domain, []).append(doc)
    for domain, docs in by_domain.items():
        if len(docs) <= max(SPLIT_SLOTS):
            raise ValueError(f"mini-pile domain {domain!r} has {len(docs)} documents; every split needs one")
        for i, doc in enumerate(docs):
            splits[SPLIT_SLOTS.get(i % SPLIT_PERIOD, "train")].append(doc)
    return splits


def file_layout(splits: dict[str, list[Document]], seed: int) -> dict[str, list[Document]]:
    """Relative file name -> its documents in line order (each split shuffled, as the Pile's are)."""
    shuffled = {}
    for i, split in enumerate(("train", "validation", "test")):
        docs = list(splits[split])
        random.Random(seed * 1000 + i).shuffle(docs)
        shuffled[split] = docs
    train = shuffled["train"]
    size = -(-len(train) // TRAIN_FILES)
    layout = {f"train/{n:02d}.jsonl.zst": train[n * size:(n + 1) * size] for n in range(TRAIN_FILES)}
    layout["val.jsonl.zst"] = shuffled["validation"]
    layout["test.jsonl.zst"] = shuffled["test"]
    return layout


def pile_line(doc: Document) -> str:
    return json.dumps({"text": doc.text, "meta": {"pile_set_name": doc.domain}}, ensure_ascii=False) + "\n"


def write_zst(path: Path, docs: Sequence[Document]) -> None:
    data = "".join(pile_line(d) for d in docs).encode("utf-8")
    compressed = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0).compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(compressed)
    tmp.replace(path)


def write_corpus(root: Path, documents: Sequence[Document], seed: int) -> dict[str, Any]:
    """Write the corpus files under `root`; returns their manifest entries (checksums, documents)."""
    files = {}
    for name, docs in file_layout(split_documents(documents), seed).items():
        write_zst(root / name, docs)
        files[name] = {"sha256": file_sha256(root / name), "documents": [d.record() for d in docs]}
    return files
