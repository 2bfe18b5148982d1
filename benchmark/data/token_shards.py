"""Per-domain memory-mapped token shards: the on-disk format of a prepared real corpus.

Layout of a prepared directory (every file is written to `<name>.tmp` and then `os.replace`d, so a
crash never leaves a half-written file under its final name):

    plan.json                              what is to be prepared: settings + the list of units
    units/<unit>.json                      done-marker of one unit of work: its shard files, counts
    shards/<split>/<domain>/<unit>.bin     headerless little-endian token stream (uint16 when the
                                           vocabulary fits, else uint32): the unit's documents of
                                           that domain, in input order, each followed by EOS
    manifest.json                          written once all units are done; the reader's entry point

A *unit* is one independent piece of work (typically one input file). Its shards are committed
before its marker, so a marker proves its shards are complete; a rerun skips marked units and,
because nothing depends on timing or process layout, rewrites byte-identical files for the rest.

The reader (`PreparedShards`) maps a domain's files and exposes fixed-length blocks
[n, seq_len + 1] as zero-copy `np.memmap` views (each file's tail shorter than a block is dropped).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import resource
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

FORMAT = "token-shards/v1"
MANIFEST = "manifest.json"
PLAN = "plan.json"
UNITS_DIR = "units"
SHARDS_DIR = "shards"


class PreparedDataError(RuntimeError):
    """Prepared data is missing, incomplete, inconsistent or corrupt; the message says what to do."""


class CorruptShardError(PreparedDataError):
    """A shard file does not match its manifest entry (size or checksum)."""


# -- small helpers ---------------------------------------------------------------------------------

def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 halves disk and page-cache use whenever every id fits (GPT-NeoX-20B: 50,277 ids)."""
    return np.dtype("<u2") if vocab_size <= 2 ** 16 else np.dtype("<u4")


def dtype_name(dtype: np.dtype) -> str:
    return np.dtype(dtype).name  # "uint16" / "uint32"; stored little-endian, see token_dtype


def stored_dtype(name: str) -> np.dtype:
    return np.dtype(name).newbyteorder("<")


def domain_slug(domain: str) -> str:
    """A file-system-safe directory name for a domain ("Wikipedia (en)" -> "Wikipedia_en")."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", domain).strip("_")
    return slug or "domain"


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def to_json(obj: Any) -> str:
    """Canonical JSON (sorted keys) so that reruns and merges produce identical bytes."""
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, to_json(obj))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def file_sha256(path: Path, chunk: int = 1 << 24) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# -- writing ---------------------------------------------------------------------------------------

class ShardWriter:
    """Appends token arrays to `<path>.tmp`, hashing as it goes; `commit` moves it into place."""

    def __init__(self, path: Path, dtype: np.dtype):
        self.path = path
        self.dtype = np.dtype(dtype)
        self.tmp = path.with_name(path.name + ".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.tmp, "wb")  # "wb": a leftover from a crashed run is overwritten
        self._sha = hashlib.sha256()
        self.tokens = 0
        self.documents = 0

    def write(self, tokens: np.ndarray, documents: int) -> None:
        data = np.ascontiguousarray(tokens, dtype=self.dtype).tobytes()
        self._file.write(data)
        self._sha.update(data)
        self.tokens += len(tokens)
        self.documents += documents

    def commit(self) -> dict[str, Any]:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.tmp, self.path)
        return {"tokens": self.tokens, "documents": self.documents, "sha256": self._sha.hexdigest(),
                "dtype": dtype_name(self.dtype)}

    def abort(self) -> None:
        self._file.close()
        self.tmp.unlink(missing_ok=True)


class UnitWriter:
    """Writes one unit of work: per-domain shards of one split, then its done-marker.

    Documents are buffered per domain and flushed in large arrays (cheap appends, bounded memory).
    """

    def __init__(self, root: Path, split: str, unit_id: str, dtype: np.dtype, eos_id: int,
                 flush_tokens: int = 1 << 22):
        self.root = Path(root)
        self.split = split
        self.unit_id = unit_id
        self.dtype = np.dtype(dtype)
        self.eos_id = int(eos_id)
        self.flush_tokens = flush_tokens
        self._writers: dict[str, ShardWriter] = {}
        self._buffers: dict[str, list[np.ndarray]] = {}
        self._buffered: dict[str, int] = {}
        self._buffered_docs: dict[str, int] = {}
        self._slugs: dict[str, str] = {}

    def relative_path(self, domain: str) -> str:
        return f"{SHARDS_DIR}/{self.split}/{domain_slug(domain)}/{self.unit_id}.bin"

    def add_documents(self, domain: str, documents: Sequence[Sequence[int]]) -> None:
        """Append documents (token id lists) of one domain, each followed by EOS."""
        if not documents:
            return
        lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
        body = np.fromiter(itertools.chain.from_iterable(documents), dtype=self.dtype, count=int(lengths.sum()))
        self.add_tokens(domain, np.insert(body, np.cumsum(lengths), self.eos_id), len(documents))

    def add_tokens(self, domain: str, tokens: np.ndarray, documents: int) -> None:
        """Append an already EOS-joined token stream holding `documents` documents."""
        slug = domain_slug(domain)
        if self._slugs.setdefault(slug, domain) != domain:
            raise ValueError(f"domains {self._slugs[slug]!r} and {domain!r} map to the same directory {slug!r}")
        self._buffers.setdefault(domain, []).append(np.asarray(tokens, dtype=self.dtype))
        self._buffered[domain] = self._buffered.get(domain, 0) + len(tokens)
        self._buffered_docs[domain] = self._buffered_docs.get(domain, 0) + documents
        if self._buffered[domain] >= self.flush_tokens:
            self._flush(domain)

    def _flush(self, domain: str) -> None:
        if not self._buffers.get(domain):
            return
        if domain not in self._writers:
            self._writers[domain] = ShardWriter(self.root / self.relative_path(domain), self.dtype)
        self._writers[domain].write(np.concatenate(self._buffers[domain]), self._buffered_docs[domain])
        self._buffers[domain], self._buffered[domain], self._buffered_docs[domain] = [], 0, 0

    def commit(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Move every shard into place, then write the marker (so a marker implies complete shards)."""
        for domain in list(self._buffers):
            self._flush(domain)
        files = {}
        for domain in sorted(self._writers):
            record = self._writers[domain].commit()
            files[self.relative_path(domain)] = {"split": self.split, "domain": domain, **record}
        marker = {"unit": self.unit_id, "split": self.split, "files": files, **(extra or {})}
        atomic_write_json(unit_marker_path(self.root, self.unit_id), marker)
        return marker

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.abort()


def unit_marker_path(root: Path, unit_id: str) -> Path:
    return Path(root) / UNITS_DIR / f"{unit_id}.json"


def unit_done(root: Path, unit_id: str) -> bool:
    """A unit is done when its marker exists and every shard it lists has the recorded size."""
    path = unit_marker_path(root, unit_id)
    if not path.exists():
        return False
    try:
        marker = read_json(path)
    except json.JSONDecodeError:
        return False
    for rel, record in marker["files"].items():
        shard = Path(root) / rel
        expected = record["tokens"] * stored_dtype(record["dtype"]).itemsize
        if not shard.exists() or shard.stat().st_size != expected:
            return False
    return True


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON-like dicts differ (one level of detail per nested dict)."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [prefix.rstrip(".") or "plan"] if a != b else []
    return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{prefix}{k}.")]


def ensure_plan(root: Path, plan: Mapping[str, Any]) -> None:
    """Record the plan, or check that an existing directory was started with the same one."""
    path = Path(root) / PLAN
    if path.exists():
        existing = read_json(path)
        wanted = json.loads(to_json(plan))
        if existing != wanted:
            keys = sorted(_differences(existing, wanted))
            raise PreparedDataError(
                f"{root} was prepared with different settings ({', '.join(keys)} differ); "
                "use a new output directory or delete this one")
        return
    atomic_write_json(path, plan)


def _copy_verified(src: Path, dst: Path, sha256: str, chunk: int = 1 << 24) -> None:
    """Copy through a tmp file, checking the checksum on the way (a bad copy never lands)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    digest = hashlib.sha256()
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while block := fin.read(chunk):
            digest.update(block)
            fout.write(block)
        fout.flush()
        os.fsync(fout.fileno())
    if digest.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise CorruptShardError(f"shard {src} is corrupt: sha256 differs from its unit marker")
    os.replace(tmp, dst)


def import_units(dest: Path, part: Path) -> list[str]:
    """Copy the finished units (shards, then markers) of another directory of the same plan into
    `dest`; returns the unit ids imported. Units already done in `dest` are left alone."""
    dest, part = Path(dest), Path(part)
    if not (part / PLAN).exists():
        raise PreparedDataError(f"{part} is not a prepared directory ({PLAN} missing)")
    ensure_plan(dest, read_json(part / PLAN))
    imported = []
    for marker_path in sorted((part / UNITS_DIR).glob("*.json")):
        unit_id = marker_path.stem
        if unit_done(dest, unit_id) or not unit_done(part, unit_id):
            continue
        marker = read_json(marker_path)
        for rel, record in marker["files"].items():
            _copy_verified(part / rel, dest / rel, record["sha256"])
        atomic_write_text(unit_marker_path(dest, unit_id), marker_path.read_text(encoding="utf-8"))
        imported.append(unit_id)
    return imported


def finalize_manifest(root: Path, header: Mapping[str, Any], unit_ids: Iterable[str],
                      order: Callable[[Iterable[str]], list[str]] = sorted,
                      annotate: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None
                      ) -> dict[str, Any] | None:
    """Assemble manifest.json from the unit markers; None (nothing written) while units are missing.

    `order` sorts domain names (e.g. into the corpus's canonical order); `annotate(manifest)`
    returns extra top-level entries (e.g. mixture weights over the domains found).
    """
    root = Path(root)
    unit_ids = list(unit_ids)
    if not all(unit_done(root, u) for u in unit_ids):
        return None
    files: dict[str, Any] = {}
    units: dict[str, Any] = {}
    splits: dict[str, dict[str, dict[str, Any]]] = {}
    for unit_id in unit_ids:
        marker = read_json(unit_marker_path(root, unit_id))
        units[unit_id] = {k: v for k, v in marker.items() if k not in ("files", "unit")}
        for rel, record in marker["files"].items():
            files[rel] = record
            entry = splits.setdefault(record["split"], {}).setdefault(
                record["domain"], {"tokens": 0, "documents": 0, "files": []})
            entry["tokens"] += record["tokens"]
            entry["documents"] += record["documents"]
            entry["files"].append(rel)
    manifest = {
        "format": FORMAT,
        **header,
        "units": units,
        "files": files,
        "splits": {s: {d: splits[s][d] for d in order(splits[s])} for s in sorted(splits)},
        "domains": {s: order(splits[s]) for s in sorted(splits)},
    }
    if annotate is not None:
        manifest.update(annotate(manifest))
    atomic_write_json(root / MANIFEST, manifest)
    return manifest


# -- reading ---------------------------------------------------------------------------------------

class ConcatBlocks:
    """Several memory-mapped block arrays seen as one [n, seq_len + 1] array.

    Row access (`blocks[i]`) returns a zero-copy row of the file that holds it; slices and index
    arrays gather rows into a new array. Used when a domain's training data spans several units.
    """

    def __init__(self, parts: Sequence[np.ndarray]):
        parts = [p for p in parts if len(p)]
        if not parts:
            raise ValueError("ConcatBlocks needs at least one non-empty part")
        self.parts = parts
        self._starts = np.cumsum([0] + [len(p) for p in parts])
        self.shape = (int(self._starts[-1]), parts[0].shape[1])
        self.dtype = parts[0].dtype
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def _row(self, i: int) -> np.ndarray:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"block {i} out of range for {len(self)} blocks")
        part = int(np.searchsorted(self._starts, i, side="right")) - 1
        return self.parts[part][i - self._starts[part]]

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            picked = self[key[0]]
            return picked[key[1:]] if picked.ndim == 1 else picked[(slice(None), *key[1:])]
        if isinstance(key, (int, np.integer)):
            return self._row(int(key))
        if isinstance(key, slice):
            key = range(*key.indices(len(self)))
        rows = [self._row(int(i)) for i in np.asarray(key).reshape(-1)]
        return np.stack(rows) if rows else np.empty((0, self.shape[1]), dtype=self.dtype)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.concatenate(self.parts)
        return out.astype(dtype) if dtype is not None else out


def file_blocks(path: Path, dtype: np.dtype, tokens: int, seq_len: int) -> np.ndarray:
    """Non-overlapping blocks of seq_len + 1 tokens over one shard, as a zero-copy read-only memmap."""
    width = seq_len + 1
    n = tokens // width
    if n == 0:
        return np.empty((0, width), dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(n, width))


def _allow_open_files(count: int) -> None:
    # Each np.memmap keeps a duplicated file descriptor; a full Pile (17 domains x 30 train files)
    # comes close to the common soft limit of 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


class PreparedShards:
    """Read access to a prepared directory. `hint` is appended to every error (how to prepare)."""

    def __init__(self, root: Path, hint: str = ""):
        self.root = Path(root)
        self.hint = hint
        path = self.root / MANIFEST
        if not path.exists():
            raise PreparedDataError(self._missing_message())
        try:
            self.manifest: dict[str, Any] = read_json(path)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PreparedDataError(f"{path} is not valid JSON ({exc}); {hint}") from exc
        if self.manifest.get("format") != FORMAT:
            raise PreparedDataError(f"{path}: unknown format {self.manifest.get('format')!r} "
                                    f"(expected {FORMAT!r}); {hint}")
        _allow_open_files(len(self.manifest["files"]))

    def _missing_message(self) -> str:
        plan_path = self.root / PLAN
        if plan_path.exists():
            units = [u["id"] for u in read_json(plan_path)["units"]]
            done = sum(unit_done(self.root, u) for u in units)
            return (f"prepared data at {self.root} is incomplete ({done} of {len(units)} units done, "
                    f"no {MANIFEST}); finish or merge the preparation: {self.hint}")
        return f"no prepared data at {self.root} ({MANIFEST} not found); {self.hint}"

    def domains(self, split: str) -> list[str]:
        return list(self.manifest["domains"].get(split, []))

    def tokens(self, split: str, domain: str) -> int:
        return int(self.manifest["splits"].get(split, {}).get(domain, {}).get("tokens", 0))

    def files(self, split: str, domain: str) -> list[str]:
        return list(self.manifest["splits"].get(split, {}).get(domain, {}).get("files", []))

    def blocks(self, split: str, domain: str, seq_len: int) -> np.ndarray | ConcatBlocks:
        """The domain's blocks [n, seq_len + 1]: one memmap, or a ConcatBlocks over several files."""
        parts = []
        for rel in self.files(split, domain):
            record = self.manifest["files"][rel]
            parts.append(file_blocks(self.root / rel, stored_dtype(record["dtype"]), record["tokens"], seq_len))
        nonempty = [p for p in parts if len(p)]
        if len(nonempty) == 1:
            return nonempty[0]
        if not nonempty:
            dtype = stored_dtype(self.manifest.get("dtype", "uint32"))
            return np.empty((0, seq_len + 1), dtype=dtype)
        return ConcatBlocks(nonempty)

    def verify(self, checksums: bool = True, splits: Iterable[str] | None = None) -> None:
        """Check every shard exists with its recorded size and, with `checksums`, its sha256."""
        wanted = set(splits) if splits is not None else None
        for rel, record in sorted(self.manifest["files"].items()):
            if wanted is not None and record["split"] not in wanted:
                continue
            path = self.root / rel
            if not path.exists():
                raise CorruptShardError(f"shard {path} is missing; {self.hint}")
            expected = record["tokens"] * stored_dtype(record["dtype"]).itemsize
            if path.stat().st_size != expected:
                raise CorruptShardError(f"shard {path} is corrupt: {path.stat().st_size} bytes, manifest says "
                                        f"{expected}; {self.hint}")
            if checksums and file_sha256(path) != record["sha256"]:
                raise CorruptShardError(f"shard {path} is corrupt: sha256 differs from the manifest; {self.hint}")
