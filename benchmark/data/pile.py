"""The Pile as a pre-training benchmark (task `pile-odm`): prepared once into per-domain token
shards (see token_shards.py), then served to the trainer as memory-mapped blocks.

Preparing — `prepare_pile(...)`, or on the command line
`python -m benchmark prepare --task pile-odm [--data-dir DIR] [--output-dir DIR] [--num-proc P]
[--shard i/N] [--merge DIR ...] [--verify]` (the CLI calls `prepare_from_cli`; its options are
`add_prepare_arguments`):

* Input: the Pile in its published format, `*.jsonl.zst` with one JSON object per line,
  `{"text": ..., "meta": {"pile_set_name": ...}}`. Either a local copy (`--data-dir`:
  `train/*.jsonl.zst`, `val.jsonl.zst`, `test.jsonl.zst`, found by `local_data_files`) or, by
  default, the hub copy `monology/pile-uncopyrighted` streamed file by file over `hf://`
  (`hub_data_files`; no full download).
* Units of work: each train file is one unit; each evaluation split (val, test) is one unit, so
  "the first `max_eval_docs` documents of every domain, in file order" is exact.
* Documents are split by `meta.pile_set_name`, tokenized without special tokens, each followed by
  EOS. The domains actually present are discovered and recorded; the published mixtures of
  `paper_tables/pile_weights.yaml` are renormalised over them (`renormalize_weights`) and stored
  in the manifest with the dropped domains (the hub copy lacks 5 of the 22).
* Resumable: a unit's completion is its done-marker (`units/<unit>.json`, written atomically after
  its shards). A rerun skips finished units; the output never depends on timing, `num_proc` or
  `shard`, so interrupted, parallel and multi-machine runs give byte-identical files.
* Parallel: `num_proc` worker processes (spawned) over this machine's units.
* Several machines: machine i of N runs with `shard=(i, N)` (`--shard i/N`) and takes units
  i, i+N, ... of the plan. On a shared file system give all machines the same output directory:
  whichever finishes last writes manifest.json. Otherwise each machine writes its own directory;
  then, on one machine, `merge_prepared(final_dir, [dir_0, ..., dir_N-1])`
  (`--output-dir final_dir --merge dir_0 ... dir_N-1`) copies the parts in (checksums verified)
  and writes the manifest. A machine can also simply be rerun without `--shard` to finish all.

Using — the builder `pile_odm` (task YAML `data:` section): `prepared_dir` (required), `seq_len`
(required), optional `tokenizer` (default: the one recorded at prepare time; must be identical),
`domains` (a subset), `max_eval_blocks` (cap per domain and eval split), `verify_checksums`
(sha256 of every shard; otherwise only sizes are checked, which is instant).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import multiprocessing
import os
import posixpath
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Mapping, Sequence

from ..paths import resource_dir
from ..yaml_io import safe_load
from .pretrain_task import PretrainData
from .token_shards import (FORMAT, MANIFEST, PLAN, PreparedDataError, PreparedShards, UnitWriter, dtype_name,
                           ensure_plan, file_sha256, finalize_manifest, import_units, read_json, stored_dtype,
                           token_dtype, unit_done)

log = logging.getLogger(__name__)

PILE_SOURCE = "monology/pile-uncopyrighted"
DEFAULT_TOKENIZER = "EleutherAI/gpt-neox-20b"
PREPARE_COMMAND = "python -m benchmark prepare --task pile-odm"
SPLIT_ALIASES = {"train": "train", "val": "validation", "validation": "validation", "test": "test"}
EVAL_SPLITS = ("validation", "test")
SPLIT_ORDER = ("train", "validation", "test")
BATCH_DOCUMENTS = 256      # documents tokenized per call (amortises call overhead, bounds memory)


def prepare_hint(output_dir: Path | str) -> str:
    return f"run `{PREPARE_COMMAND} --output-dir {output_dir}` (see benchmark/data/pile.py)"


# -- published mixtures and domain names -----------------------------------------------------------

@lru_cache(maxsize=1)
def published_mixtures() -> tuple[tuple[str, ...], dict[str, dict[str, float]]]:
    """(the 22 Pile domains in config order, {mixture name: {domain: weight}}) from paper_tables."""
    table = safe_load((resource_dir("paper_tables") / "pile_weights.yaml").read_text())
    order = tuple(table.pop("domains"))
    return order, {name: {d: float(w) for d, w in weights.items()} for name, weights in table.items()}


def canonical_order(domains: Iterable[str]) -> list[str]:
    """The Pile's config order for known domains, then any other names alphabetically."""
    known = published_mixtures()[0]
    names = set(domains)
    return [d for d in known if d in names] + sorted(names - set(known))


def renormalize_weights(published: Mapping[str, float], present: Sequence[str]) -> dict[str, float]:
    """Published weights restricted to the domains present and rescaled to sum to 1.

    Domains present but absent from `published` get weight 0 (and are reported as such by
    `mixture_report`); domains published but absent are dropped.
    """
    kept = {d: float(published.get(d, 0.0)) for d in present}
    total = sum(kept.values())
    if total <= 0:
        raise ValueError(f"no published weight on any present domain ({list(present)})")
    return {d: w / total for d, w in kept.items()}


def dropped_domains(published: Mapping[str, float], present: Sequence[str]) -> list[str]:
    return [d for d in published if d not in set(present)]


def mixture_report(present: Sequence[str]) -> dict[str, Any]:
    """Every published mixture renormalised over `present`, with what was dropped or unweighted."""
    order, tables = published_mixtures()
    return {
        "present": list(present),
        "dropped": [d for d in order if d not in set(present)],
        "not_published": [d for d in present if d not in set(order)],
        "renormalized": {name: renormalize_weights(w, present) for name, w in tables.items()},
        "table": "paper_tables/pile_weights.yaml",
    }


# -- input files -----------------------------------------------------------------------------------

def local_data_files(root: Path) -> dict[str, list[str]]:
    """A local copy of the Pile: train/*.jsonl.zst, val.jsonl.zst, test.jsonl.zst under `root`."""
    root = Path(root)
    files = {"train": sorted(str(p) for p in (root / "train").glob("*.jsonl.zst"))}
    for split, name in (("validation", "val.jsonl.zst"), ("test", "test.jsonl.zst")):
        if (root / name).exists():
            files[split] = [str(root / name)]
    if not files["train"]:
        raise FileNotFoundError(f"no train/*.jsonl.zst under {root} (expected the Pile's layout)")
    return files


def hub_data_files(source: str = PILE_SOURCE) -> dict[str, list[str]]:
    """The hub copy's files as hf:// paths (listed over the network; nothing is downloaded)."""
    from huggingface_hub import HfFileSystem

    fs = HfFileSystem()
    base = f"datasets/{source}"
    files = {"train": sorted(f"hf://{p}" for p in fs.glob(f"{base}/train/*.jsonl.zst"))}
    for split, name in (("validation", "val.jsonl.zst"), ("test", "test.jsonl.zst")):
        if fs.exists(f"{base}/{name}"):
            files[split] = [f"hf://{base}/{name}"]
    if not files["train"]:
        raise FileNotFoundError(f"no train/*.jsonl.zst in hub dataset {source}")
    return files


def _open_binary(path: str) -> BinaryIO:
    if path.startswith("hf://"):
        from huggingface_hub import HfFileSystem  # streamed with HTTP range requests

        return HfFileSystem().open(path, "rb", block_size=1 << 24)
    return open(path, "rb")


def iter_documents(path: str) -> Iterator[tuple[str, str]]:
    """(pile_set_name, text) of every line of a Pile file (.jsonl.zst, or plain .jsonl)."""
    import zstandard

    with _open_binary(path) as raw:
        stream = (zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
                  if path.endswith(".zst") else raw)
        for line_no, line in enumerate(io.TextIOWrapper(stream, encoding="utf-8"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield record["meta"]["pile_set_name"], record["text"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{line_no}: not a Pile record "
                                 f"({{'text': ..., 'meta': {{'pile_set_name': ...}}}}): {exc!r}") from exc


# -- planning --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    id: str
    split: str
    paths: tuple[str, ...]   # where to read (local or hf://)
    names: tuple[str, ...]   # the same files relative to the data root: what the plan records


def _relative_names(paths: Sequence[str]) -> list[str]:
    """Names relative to the common data root, so plans agree across machines and mount points."""
    bare = [p[len("hf://"):] if p.startswith("hf://") else os.path.abspath(p) for p in paths]
    root = posixpath.commonpath([posixpath.dirname(p) for p in bare])
    return [posixpath.relpath(p, root) for p in bare]


def plan_units(data_files: Mapping[str, Sequence[str]]) -> list[Unit]:
    """Train files one unit each, in the order given; each eval split one unit (its files in order)."""
    by_split: dict[str, list[str]] = {}
    for key, paths in data_files.items():
        if key not in SPLIT_ALIASES:
            raise ValueError(f"data_files: unknown split {key!r}; allowed: {sorted(SPLIT_ALIASES)}")
        by_split.setdefault(SPLIT_ALIASES[key], []).extend([paths] if isinstance(paths, str) else paths)
    if not by_split.get("train"):
        raise ValueError("data_files: at least one train file is required")
    all_paths = [p for split in SPLIT_ORDER for p in by_split.get(split, [])]
    names = dict(zip(all_paths, _relative_names(all_paths)))
    units = [Unit(f"train-{i:05d}", "train", (p,), (names[p],)) for i, p in enumerate(by_split["train"])]
    for split in EVAL_SPLITS:
        if by_split.get(split):
            paths = tuple(by_split[split])
            units.append(Unit(split, split, paths, tuple(names[p] for p in paths)))
    return units


# -- tokenizing ------------------------------------------------------------------------------------

def load_tokenizer(name_or_path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name_or_path)


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """sha256 of the full tokenizer definition: the same name with other merges is caught."""
    if getattr(tokenizer, "is_fast", False):
        text = tokenizer.backend_tokenizer.to_str()
    else:
        text = json.dumps(tokenizer.get_vocab(), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tokenizer_record(tokenizer: Any, name_or_path: str) -> dict[str, Any]:
    if tokenizer.eos_token_id is None:
        raise ValueError(f"tokenizer {name_or_path!r} has no EOS token to separate documents")
    return {"name_or_path": str(name_or_path), "sha256": tokenizer_fingerprint(tokenizer),
            "vocab_size": len(tokenizer), "eos_token_id": int(tokenizer.eos_token_id)}


def encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Token ids without special tokens (the fast backend directly: no length warnings, less overhead)."""
    if getattr(tokenizer, "is_fast", False):
        return [e.ids for e in tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]


def _batches(unit: Unit) -> Iterator[list[tuple[str, str]]]:
    batch: list[tuple[str, str]] = []
    for path in unit.paths:
        for item in iter_documents(path):
            batch.append(item)
            if len(batch) == BATCH_DOCUMENTS:
                yield batch
                batch = []
    if batch:
        yield batch


def tokenize_unit(unit: Unit, output_dir: Path, tokenizer: Any, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Tokenize one unit into its per-domain shards and commit its done-marker."""
    tok = settings["tokenizer"]
    writer = UnitWriter(output_dir, unit.split, unit.id, stored_dtype(settings["dtype"]), tok["eos_token_id"])
    cap = settings["max_eval_docs"] if unit.split in EVAL_SPLITS else None
    wanted = set(settings["domain_filter"]) if settings.get("domain_filter") else None
    seen: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    try:
        for batch in _batches(unit):
            keep = []
            for domain, text in batch:
                if wanted is not None and domain not in wanted:
                    continue
                seen[domain] += 1
                if cap is None or kept[domain] < cap:
                    kept[domain] += 1
                    keep.append((domain, text))
            if not keep:
                continue
            grouped: dict[str, list[list[int]]] = {}
            for (domain, _), ids in zip(keep, encode(tokenizer, [t for _, t in keep])):
                grouped.setdefault(domain, []).append(ids)
            for domain, docs in grouped.items():
                writer.add_documents(domain, docs)
    except BaseException:
        writer.abort()
        raise
    return writer.commit({"sources": list(unit.names), "documents_seen": dict(sorted(seen.items()))})


_WORKER_TOKENIZERS: dict[str, Any] = {}


def _init_worker() -> None:
    # The processes are the parallelism; nested tokenizer threads would only oversubscribe cores.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _run_unit(task: tuple[Unit, str, dict[str, Any]]) -> str:
    unit, output_dir, settings = task
    name = settings["tokenizer"]["name_or_path"]
    if name not in _WORKER_TOKENIZERS:
        _WORKER_TOKENIZERS[name] = load_tokenizer(name)
    tokenize_unit(unit, Path(output_dir), _WORKER_TOKENIZERS[name], settings)
    return unit.id


# -- the prepare entry points ----------------------------------------------------------------------

@dataclass
class PrepareReport:
    output_dir: Path
    units_total: int
    units_done: int
    ran: list[str] = field(default_factory=list)       # units processed by this call
    skipped: list[str] = field(default_factory=list)   # this machine's units already done
    manifest: dict[str, Any] | None = None             # set once every unit of the plan is done

    @property
    def complete(self) -> bool:
        return self.manifest is not None


def finalize(output_dir: Path) -> dict[str, Any] | None:
    """Write manifest.json if every unit of the plan is done (idempotent; same bytes every time)."""
    plan = read_json(Path(output_dir) / PLAN)
    return finalize_manifest(output_dir, plan["header"], [u["id"] for u in plan["units"]], order=canonical_order,
                             annotate=lambda m: {"weights": mixture_report(m["domains"].get("train", []))})


def _report(output_dir: Path, ran: list[str], skipped: list[str]) -> PrepareReport:
    units = [u["id"] for u in read_json(output_dir / PLAN)["units"]]
    manifest = finalize(output_dir)
    return PrepareReport(output_dir, len(units), sum(unit_done(output_dir, u) for u in units), ran, skipped, manifest)


def prepare_pile(data_files: dict[str, list[str]] | None, output_dir: Path, tokenizer_name_or_path: str,
                 num_proc: int, shard: tuple[int, int] = (0, 1), max_eval_docs: int = 5000,
                 source: str = PILE_SOURCE, domains: list[str] | None = None) -> PrepareReport:
    """Tokenize this machine's share of the Pile into per-domain token shards (see module docstring).

    data_files: split -> files (local paths or hf:// URLs); None streams the hub copy `source`.
    shard: (i, N): this machine takes units i, i+N, ... of the plan.
    domains: keep only these pile_set_names (default: all found).
    """
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"shard: need 0 <= i < N, got {shard}")
    if num_proc < 1 or max_eval_docs < 1:
        raise ValueError("num_proc and max_eval_docs must be positive")
    output_dir = Path(output_dir)
    units = plan_units(data_files if data_files is not None else hub_data_files(source))
    tokenizer = load_tokenizer(tokenizer_name_or_path)
    record = tokenizer_record(tokenizer, tokenizer_name_or_path)
    settings = {"format": FORMAT, "source": source, "tokenizer": record,
                "dtype": dtype_name(token_dtype(record["vocab_size"])), "max_eval_docs": max_eval_docs,
                "domain_filter": sorted(domains) if domains else None}
    ensure_plan(output_dir, {"header": settings, "units": [
        {"id": u.id, "split": u.split, "sources": list(u.names)} for u in units]})

    mine = units[index::count]
    todo = [u for u in mine if not unit_done(output_dir, u.id)]
    skipped = [u.id for u in mine if u not in todo]
    ran: list[str] = []
    log.info("prepare: %d of %d units on this machine, %d already done", len(mine), len(units), len(skipped))
    if num_proc == 1 or len(todo) <= 1:
        for unit in todo:
            tokenize_unit(unit, output_dir, tokenizer, settings)
            ran.append(unit.id)
            log.info("prepare: unit %s done", unit.id)
    else:
        # spawn, not fork: the parent may hold tokenizer/torch threads that a fork would copy mid-state.
        ctx = multiprocessing.get_context("spawn")
        tasks = [(u, str(output_dir), settings) for u in todo]
        with ctx.Pool(min(num_proc, len(todo)), initializer=_init_worker) as pool:
            for unit_id in pool.imap_unordered(_run_unit, tasks):
                ran.append(unit_id)
                log.info("prepare: unit %s done", unit_id)
    return _report(output_dir, ran, skipped)


def merge_prepared(output_dir: Path, parts: Sequence[Path]) -> PrepareReport:
    """Bring the finished units of other machines' directories into `output_dir`, then finalize."""
    output_dir = Path(output_dir)
    ran: list[str] = []
    for part in parts:
        if Path(part).resolve() != output_dir.resolve():
            ran += import_units(output_dir, Path(part))
    if not (output_dir / PLAN).exists():
        raise PreparedDataError(f"nothing to merge into {output_dir}: no parts given")
    return _report(output_dir, ran, [])


# -- the builder -----------------------------------------------------------------------------------

def open_prepared(root: Path) -> PreparedShards:
    return PreparedShards(root, hint=prepare_hint(root))


def _capped(blocks: Any, cap: int | None) -> Any:
    return blocks if cap is None else blocks[:cap]  # a memmap slice stays a zero-copy view


def build_pile_odm(spec: dict[str, Any], cache_dir: Path) -> PretrainData:
    """Per-domain memmap blocks of a prepared Pile directory (see the module docstring for `spec`)."""
    root = Path(spec["prepared_dir"]).expanduser()
    seq_len = int(spec["seq_len"])
    shards = open_prepared(root)
    shards.verify(checksums=bool(spec.get("verify_checksums", False)))
    recorded = shards.manifest["tokenizer"]
    tokenizer = load_tokenizer(spec.get("tokenizer") or recorded["name_or_path"])
    if tokenizer_fingerprint(tokenizer) != recorded["sha256"]:
        raise PreparedDataError(f"{root} was tokenized with {recorded['name_or_path']!r}, which differs from "
                                f"the tokenizer {spec.get('tokenizer')!r} asked for; {prepare_hint(root)} "
                                "with that tokenizer into another directory")

    available = shards.domains("train")
    wanted = list(spec.get("domains") or available)
    unknown = [d for d in wanted if d not in available]
    if unknown:
        raise PreparedDataError(f"data.domains: {unknown} not in {root}; prepared domains: {available}")
    cap = spec.get("max_eval_blocks")
    train = {d: shards.blocks("train", d, seq_len) for d in wanted}
    too_small = [d for d in wanted if len(train[d]) == 0]   # fewer tokens than one block
    domains = [d for d in wanted if d not in too_small]
    if not domains:
        raise PreparedDataError(f"no domain of {root} has a full training block of {seq_len + 1} tokens")
    evals = {split: [_capped(shards.blocks(split, d, seq_len), cap) for d in domains] for split in EVAL_SPLITS}

    manifest = {
        "builder": "pile_odm",
        "prepared_dir": str(root),
        "manifest_sha256": file_sha256(root / MANIFEST),
        "source": shards.manifest["source"],
        "tokenizer": recorded,
        "seq_len": seq_len,
        "max_eval_docs": shards.manifest["max_eval_docs"],
        "max_eval_blocks": cap,
        "domains": {d: {"train_tokens": shards.tokens("train", d), "train_blocks": len(train[d]),
                        "validation_blocks": len(evals["validation"][i]), "test_blocks": len(evals["test"][i])}
                    for i, d in enumerate(domains)},
        "too_small": too_small,
        "weights": mixture_report(domains),
    }
    return PretrainData(
        domains=domains,
        train_blocks=[train[d] for d in domains],
        validation_blocks=evals["validation"],
        test_blocks=evals["test"],
        sizes=[shards.tokens("train", d) for d in domains],
        tokenizer=tokenizer,
        token_offset=0,
        manifest=manifest,
        floors=None,
        downstream_dir=None,
    )


# -- command line ----------------------------------------------------------------------------------

def _shard_arg(text: str) -> tuple[int, int]:
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--shard takes i/N (e.g. 0/4), got {text!r}") from exc
    if not (count >= 1 and 0 <= index < count):
        raise argparse.ArgumentTypeError(f"--shard i/N needs 0 <= i < N, got {text!r}")
    return index, count


def add_prepare_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m benchmark prepare --task pile-odm` (dest names = prepare_from_cli keys)."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="local copy of the Pile (train/*.jsonl.zst, val.jsonl.zst, test.jsonl.zst); "
                             "default: stream --source from the hub")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="prepared directory (default: the task's data.prepared_dir)")
    parser.add_argument("--tokenizer", default=None, help=f"tokenizer name or path (default: {DEFAULT_TOKENIZER})")
    parser.add_argument("--num-proc", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                        help="worker processes on this machine")
    parser.add_argument("--shard", type=_shard_arg, default=(0, 1), metavar="i/N",
                        help="machine i of N takes input files i, i+N, ... (default 0/1)")
    parser.add_argument("--max-eval-docs", type=int, default=5000, help="documents per domain in val/test")
    parser.add_argument("--source", default=PILE_SOURCE, help="hub dataset streamed when --data-dir is not given")
    parser.add_argument("--domains", default=None, help="comma-separated pile_set_names to keep (default: all)")
    parser.add_argument("--merge", nargs="+", type=Path, default=None, metavar="DIR",
                        help="merge these per-machine directories into --output-dir and write the manifest")
    parser.add_argument("--verify", action="store_true",
                        help="check the sha256 of every shard of --output-dir instead of preparing")


def prepare_from_cli(args: Mapping[str, Any], task_data: Mapping[str, Any] | None = None) -> int:
    """Run `prepare` from parsed options (e.g. `vars(argparse_namespace)`); returns an exit status.

    `task_data` is the task's `data:` section: it supplies the defaults of `--output-dir`
    (`prepared_dir`) and `--tokenizer`.
    """
    task_data = task_data or {}
    output = args.get("output_dir") or task_data.get("prepared_dir")
    if output is None:
        print("prepare: --output-dir is required (the task has no data.prepared_dir)")
        return 2
    output_dir = Path(output).expanduser()
    try:
        if args.get("verify"):
            open_prepared(output_dir).verify(checksums=True)
            print(f"prepare: {output_dir}: every shard matches its checksum")
            return 0
        if args.get("merge"):
            report = merge_prepared(output_dir, args["merge"])
        else:
            domains = args.get("domains")
            report = prepare_pile(
                local_data_files(args["data_dir"]) if args.get("data_dir") else None, output_dir,
                args.get("tokenizer") or task_data.get("tokenizer") or DEFAULT_TOKENIZER,
                int(args.get("num_proc") or 1), tuple(args.get("shard") or (0, 1)),
                int(args.get("max_eval_docs") or 5000), args.get("source") or PILE_SOURCE,
                domains.split(",") if isinstance(domains, str) else domains)
    except (PreparedDataError, FileNotFoundError, ValueError) as exc:
        print(f"prepare: {exc}")
        return 2
    print(f"prepare: {output_dir}: {report.units_done}/{report.units_total} units done "
          f"(ran {len(report.ran)}, skipped {len(report.skipped)} already done)")
    if report.complete:
        assert report.manifest is not None
        dropped = report.manifest["weights"]["dropped"]
        print(f"prepare: complete; domains: {', '.join(report.manifest['domains']['train'])}"
              + (f"; absent (weights renormalised without them): {', '.join(dropped)}" if dropped else ""))
    else:
        print("prepare: not complete yet: run the remaining shards, then merge their directories with "
              f"`{PREPARE_COMMAND} --output-dir {output_dir} --merge DIR ...` (or share one directory)")
    return 0
