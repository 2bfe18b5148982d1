"""Preparing the Pile into token shards and serving them (offline: tiny files in the Pile's exact
format and a byte-level BPE tokenizer trained here)."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import zstandard
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from benchmark.data import pile, token_shards
from benchmark.data.mixture import MixtureFeeder
from benchmark.data.pretrain_task import build_task_data
from benchmark.data.token_shards import ConcatBlocks, PreparedDataError, PreparedShards
from benchmark.strategies import get_strategy_class

EOS = "<|endoftext|>"
MAX_EVAL_DOCS = 5
SEQ_LEN = 16
# Real Pile names (in config order), plus one the published tables do not know.
DOMAINS = ["Pile-CC", "ArXiv", "Github", "Enron Emails", "Local Notes"]
SYLLABLES = {"Pile-CC": "the of and news shop café", "ArXiv": "theorem lemma proof λ ε",
             "Github": "def return self import {} ();", "Enron Emails": "meeting fwd re: regards",
             "Local Notes": "todo naïve note — remember"}


# -- fixtures ---------------------------------------------------------------------------------------

def _document(rng: random.Random, domain: str) -> str:
    words = SYLLABLES[domain].split()
    return " ".join(rng.choice(words) for _ in range(rng.randint(5, 60)))


def _pile_lines(records: list[tuple[str, str]]) -> bytes:
    return "".join(json.dumps({"text": t, "meta": {"pile_set_name": d}}) + "\n" for d, t in records).encode()


def _corpus() -> dict[str, list[tuple[str, str]]]:
    """Records per file: train/01 lacks one domain; eval files have more than MAX_EVAL_DOCS for most."""
    rng = random.Random(0)
    train0 = [(d, _document(rng, d)) for _ in range(12) for d in DOMAINS] + [("ArXiv", "")]
    train1 = [(d, _document(rng, d)) for _ in range(9) for d in DOMAINS if d != "Enron Emails"]
    evals = {name: [(d, _document(rng, d)) for i in range(8) for d in DOMAINS if d != "Enron Emails" or i < 3]
             for name in ("val.jsonl.zst", "test.jsonl.zst")}
    return {"train/00.jsonl.zst": train0, "train/01.jsonl.zst": train1, **evals}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("pile")
    records = _corpus()
    compressor = zstandard.ZstdCompressor(level=3)
    for name, recs in records.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        half = len(recs) // 2  # two zstd frames in one file, as concatenated Pile shards may have
        (root / name).write_bytes(compressor.compress(_pile_lines(recs[:half]))
                                  + compressor.compress(_pile_lines(recs[half:])))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([t for recs in records.values() for _, t in recs],
                            trainers.BpeTrainer(vocab_size=320, special_tokens=[EOS],
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokdir = root / "tokenizer"
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS).save_pretrained(str(tokdir))
    return {"root": root, "records": records, "tokenizer": str(tokdir),
            "data_files": pile.local_data_files(root)}


@pytest.fixture(scope="module")
def prepared(corpus, tmp_path_factory) -> Path:
    """The reference: one machine, two worker processes."""
    out = tmp_path_factory.mktemp("prepared")
    report = pile.prepare_pile(corpus["data_files"], out, corpus["tokenizer"], num_proc=2,
                               max_eval_docs=MAX_EVAL_DOCS)
    assert report.complete and report.units_done == report.units_total == 4
    assert sorted(report.ran) == ["test", "train-00000", "train-00001", "validation"]
    return out


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _expected_stream(tokenizer, texts: list[str]) -> np.ndarray:
    ids = [t for text in texts for t in (*tokenizer(text, add_special_tokens=False)["input_ids"],
                                         tokenizer.eos_token_id)]
    return np.array(ids, dtype=np.uint16)


def _build(prepared_dir: Path, tmp_path: Path, tokenizer: str, **extra):
    spec = {"builder": "pile_odm", "prepared_dir": str(prepared_dir), "seq_len": SEQ_LEN,
            "tokenizer": tokenizer, **extra}
    return build_task_data(spec, tmp_path)


# -- preparing --------------------------------------------------------------------------------------

def test_prepare_matches_direct_tokenization(corpus, prepared):
    tokenizer = AutoTokenizer.from_pretrained(corpus["tokenizer"])
    manifest = json.loads((prepared / "manifest.json").read_text())
    assert manifest["domains"] == {s: DOMAINS for s in ("test", "train", "validation")}
    assert manifest["dtype"] == "uint16"
    assert manifest["tokenizer"]["eos_token_id"] == tokenizer.eos_token_id
    assert manifest["units"]["train-00001"]["sources"] == ["train/01.jsonl.zst"]
    assert manifest["units"]["validation"]["sources"] == ["val.jsonl.zst"]
    records = corpus["records"]
    unit_records = {"train-00000": records["train/00.jsonl.zst"], "train-00001": records["train/01.jsonl.zst"],
                    "validation": records["val.jsonl.zst"], "test": records["test.jsonl.zst"]}
    for rel, record in manifest["files"].items():
        path = prepared / rel
        unit = Path(rel).stem
        texts = [t for d, t in unit_records[unit] if d == record["domain"]]
        if record["split"] != "train":
            texts = texts[:MAX_EVAL_DOCS]  # the first ones, in file order
        expected = _expected_stream(tokenizer, texts)
        stored = np.fromfile(path, dtype="<u2")
        np.testing.assert_array_equal(stored, expected, err_msg=rel)
        assert record["tokens"] == len(expected) and record["documents"] == len(texts)
        assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # Eval cap: 5 of 8 documents, all 3 of Enron's; what was seen is recorded too.
    assert manifest["splits"]["validation"]["Pile-CC"]["documents"] == MAX_EVAL_DOCS
    assert manifest["splits"]["validation"]["Enron Emails"]["documents"] == 3
    assert manifest["units"]["validation"]["documents_seen"]["Pile-CC"] == 8
    # Enron is missing from train/01: one train file for it, two for the others.
    assert len(manifest["splits"]["train"]["Enron Emails"]["files"]) == 1
    assert len(manifest["splits"]["train"]["ArXiv"]["files"]) == 2
    PreparedShards(prepared).verify(checksums=True)


def test_manifest_records_renormalised_weights(prepared):
    weights = json.loads((prepared / "manifest.json").read_text())["weights"]
    assert weights["not_published"] == ["Local Notes"]
    assert "Books3" in weights["dropped"] and "Pile-CC" not in weights["dropped"]
    tpw = weights["renormalized"]["the_pile_weights"]
    assert sorted(tpw) == sorted(DOMAINS) and tpw["Local Notes"] == 0.0  # JSON keys are sorted
    assert sum(tpw.values()) == pytest.approx(1.0)
    assert tpw["Pile-CC"] / tpw["ArXiv"] == pytest.approx(0.1811 / 0.0896)


def test_renormalize_weights():
    published = {"a": 0.5, "b": 0.3, "c": 0.2}
    assert pile.renormalize_weights(published, ["a", "c"]) == pytest.approx({"a": 0.5 / 0.7, "c": 0.2 / 0.7})
    assert pile.dropped_domains(published, ["a", "c"]) == ["b"]
    with pytest.raises(ValueError):
        pile.renormalize_weights(published, ["zzz"])


def test_interrupted_prepare_resumes_byte_identical(corpus, prepared, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    real = pile.tokenize_unit
    calls: list[str] = []

    def crashing(unit, output_dir, tokenizer, settings):
        calls.append(unit.id)
        if len(calls) == 2:  # a crash that leaves a half-written shard under its final name
            junk = output_dir / "shards" / unit.split / "Pile-CC" / f"{unit.id}.bin"
            junk.parent.mkdir(parents=True, exist_ok=True)
            junk.write_bytes(b"\x01\x02\x03")
            raise RuntimeError("killed")
        return real(unit, output_dir, tokenizer, settings)

    monkeypatch.setattr(pile, "tokenize_unit", crashing)
    with pytest.raises(RuntimeError, match="killed"):
        pile.prepare_pile(corpus["data_files"], out, corpus["tokenizer"], num_proc=1, max_eval_docs=MAX_EVAL_DOCS)
    assert calls == ["train-00000", "train-00001"]
    with pytest.raises(PreparedDataError, match=r"incomplete \(1 of 4 units done.*prepare --task pile-odm"):
        PreparedShards(out, hint=pile.prepare_hint(out))

    calls.clear()
    monkeypatch.setattr(pile, "tokenize_unit", lambda *a: (calls.append(a[0].id), real(*a))[1])
    report = pile.prepare_pile(corpus["data_files"], out, corpus["tokenizer"], num_proc=1,
                               max_eval_docs=MAX_EVAL_DOCS)
    assert calls == ["train-00001", "validation", "test"]   # the finished unit is skipped
    assert report.skipped == ["train-00000"] and report.complete
    assert _tree(out) == _tree(prepared)                    # byte-identical to the uninterrupted run

    calls.clear()                                           # a third run has nothing to do
    assert pile.prepare_pile(corpus["data_files"], out, corpus["tokenizer"], num_proc=1,
                             max_eval_docs=MAX_EVAL_DOCS).complete and calls == []


def test_changed_settings_are_refused(corpus, prepared):
    with pytest.raises(PreparedDataError, match=r"different settings \(header.max_eval_docs differ\)"):
        pile.prepare_pile(corpus["data_files"], prepared, corpus["tokenizer"], num_proc=1, max_eval_docs=3)


def test_two_machines_then_merge_equal_one_machine(corpus, prepared, tmp_path):
    parts = [tmp_path / "machine0", tmp_path / "machine1"]
    for i, part in enumerate(parts):
        report = pile.prepare_pile(corpus["data_files"], part, corpus["tokenizer"], num_proc=1, shard=(i, 2),
                                   max_eval_docs=MAX_EVAL_DOCS)
        assert not report.complete and report.units_done == 2
    assert sorted(p.name for p in (parts[0] / "units").iterdir()) == ["train-00000.json", "validation.json"]
    merged = pile.merge_prepared(tmp_path / "final", parts)
    assert merged.complete and sorted(merged.ran) == ["test", "train-00000", "train-00001", "validation"]
    assert _tree(tmp_path / "final") == _tree(prepared)
    # Shared file system: both machines write one directory; the last one writes the manifest.
    shared = tmp_path / "shared"
    reports = [pile.prepare_pile(corpus["data_files"], shared, corpus["tokenizer"], num_proc=1, shard=(i, 2),
                                 max_eval_docs=MAX_EVAL_DOCS) for i in range(2)]
    assert [r.complete for r in reports] == [False, True]
    assert _tree(shared) == _tree(prepared)


def test_cli_entry_point(corpus, prepared, tmp_path, capsys):
    import argparse
    parser = argparse.ArgumentParser()
    pile.add_prepare_arguments(parser)
    args = vars(parser.parse_args(["--data-dir", str(corpus["root"]), "--num-proc", "1", "--shard", "1/2",
                                   "--max-eval-docs", str(MAX_EVAL_DOCS), "--tokenizer", corpus["tokenizer"]]))
    assert pile.prepare_from_cli(args, {"prepared_dir": str(tmp_path / "cli")}) == 0
    assert "not complete yet" in capsys.readouterr().out
    assert pile.prepare_from_cli({"output_dir": prepared, "verify": True}) == 0
    with pytest.raises(SystemExit):
        parser.parse_args(["--shard", "2/2"])


# -- serving ----------------------------------------------------------------------------------------

def test_builder_returns_memmap_blocks(corpus, prepared, tmp_path):
    data = _build(prepared, tmp_path, corpus["tokenizer"], verify_checksums=True)
    manifest = json.loads((prepared / "manifest.json").read_text())
    assert data.domains == DOMAINS and data.token_offset == 0 and data.floors is None
    width = SEQ_LEN + 1
    for i, domain in enumerate(DOMAINS):
        assert data.sizes[i] == manifest["splits"]["train"][domain]["tokens"]
        # Expected rows: each file cut into whole blocks (its tail dropped), files in unit order.
        rows = []
        for rel in manifest["splits"]["train"][domain]["files"]:
            stream = np.fromfile(prepared / rel, dtype="<u2")
            rows.append(stream[: len(stream) // width * width].reshape(-1, width))
        expected = np.concatenate(rows)
        blocks = data.train_blocks[i]
        assert blocks.shape == expected.shape and blocks.shape[1] == width
        for j in (0, len(expected) // 2, len(expected) - 1, -1):
            np.testing.assert_array_equal(blocks[j], expected[j])
        np.testing.assert_array_equal(np.asarray(blocks), expected)
        for split, split_blocks in (("validation", data.validation_blocks), ("test", data.test_blocks)):
            tokens = manifest["splits"][split][domain]["tokens"]
            assert isinstance(split_blocks[i], np.memmap) and split_blocks[i].shape == (tokens // width, width)
    assert isinstance(data.train_blocks[DOMAINS.index("ArXiv")], ConcatBlocks)          # two train files
    assert isinstance(data.train_blocks[DOMAINS.index("Enron Emails")], np.memmap)      # one train file
    assert data.manifest["weights"]["renormalized"]["the_pile_weights"]["Pile-CC"] > 0
    assert data.manifest["domains"]["Pile-CC"]["train_blocks"] == len(data.train_blocks[0])
    assert data.vocab_size == len(AutoTokenizer.from_pretrained(corpus["tokenizer"]))

    capped = _build(prepared, tmp_path, corpus["tokenizer"], max_eval_blocks=1, domains=["ArXiv", "Github"])
    assert capped.domains == ["ArXiv", "Github"] and all(len(b) == 1 for b in capped.validation_blocks)


def test_concat_blocks_indexing():
    a, b = np.arange(12).reshape(4, 3), np.arange(100, 106).reshape(2, 3)
    blocks, full = ConcatBlocks([a, b]), np.concatenate([a, b])
    assert len(blocks) == 6 and blocks.shape == (6, 3)
    for key in (0, 3, 4, -1, slice(1, 5), slice(None, None, 2), np.array([5, 0, 4]), (4, 1), (slice(0, 6), 2)):
        np.testing.assert_array_equal(blocks[key], full[key])
    with pytest.raises(IndexError):
        blocks[6]


def test_missing_and_corrupt_prepared_data_fail_clearly(corpus, prepared, tmp_path):
    with pytest.raises(PreparedDataError, match=r"no prepared data .*python -m benchmark prepare --task pile-odm"):
        _build(tmp_path / "nowhere", tmp_path, corpus["tokenizer"])
    copy = tmp_path / "copy"
    shutil.copytree(prepared, copy)
    shard = copy / "shards" / "train" / "Github" / "train-00001.bin"
    raw = bytearray(shard.read_bytes())
    raw[10] ^= 0xFF                                          # same size, different bytes
    shard.write_bytes(bytes(raw))
    _build(copy, tmp_path, corpus["tokenizer"])              # the quick (size) check cannot see it ...
    with pytest.raises(token_shards.CorruptShardError, match=r"Github/train-00001\.bin is corrupt: sha256.*"
                                                             r"prepare --task pile-odm"):
        _build(copy, tmp_path, corpus["tokenizer"], verify_checksums=True)   # ... the checksum does
    shard.write_bytes(bytes(raw[:-2]))                       # truncated: caught without checksums
    with pytest.raises(token_shards.CorruptShardError, match=r"train-00001\.bin is corrupt: .* bytes"):
        _build(copy, tmp_path, corpus["tokenizer"])
    assert pile.prepare_from_cli({"output_dir": copy, "verify": True}) == 2


def test_feeder_trains_from_shards(corpus, prepared, tmp_path):
    data = _build(prepared, tmp_path, corpus["tokenizer"])
    uniform = get_strategy_class("uniform")
    feeder = MixtureFeeder(data.train_blocks, uniform(data.domains, data.sizes, seed=0), batch_size=4,
                           grad_accum=2, seed=0)
    replay = uniform(data.domains, data.sizes, seed=0)      # same seed: the same plans
    rows_of = [{bytes(np.asarray(r, dtype=np.int64)) for r in np.asarray(b)} for b in data.train_blocks]

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(data.vocab_size, 16), torch.nn.Linear(16, data.vocab_size))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    seen = set()
    for step in range(1, 6):
        plan = replay.plan(step, 2, 4)
        optimizer.zero_grad()
        for micro in range(2):
            batch = feeder.next_microbatch()
            assert batch["input_ids"].shape == (4, SEQ_LEN + 1)
            np.testing.assert_array_equal(batch["domain"].numpy(), plan[micro])
            for row, domain in zip(batch["input_ids"].numpy(), batch["domain"].numpy()):
                assert bytes(row) in rows_of[domain]          # the row really is a block of that domain
                seen.add(int(domain))
            ids = batch["input_ids"]
            logits = model(ids[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
            (loss / 2).backward()
            assert torch.isfinite(loss)
        optimizer.step()
    assert len(seen) >= 3


# -- the whole run path on the shards -----------------------------------------------------------------

def test_pile_task_trains_and_evaluates_end_to_end(corpus, prepared, tmp_path):
    """The real pile-odm-160m task file, scaled down by overrides, through the same runner as the
    embedded benchmark: TPW renormalised over the fixture's domains, ODM warm-up on TPW."""
    from benchmark.config import resolve_config
    from benchmark.runner import execute, prepare_run

    overrides = [f"data.prepared_dir={prepared}", f"data.tokenizer={corpus['tokenizer']}", f"data.seq_len={SEQ_LEN}",
                 "model.hidden_size=32", "model.num_layers=1", "model.num_heads=2", "model.intermediate_size=64",
                 f"model.max_positions={SEQ_LEN}", "training.steps=6", "training.batch_size=4",
                 "training.eval_every=3", "training.checkpoint_every=3", "training.eval_batch_size=8",
                 "training.precision=32-true", "evaluation.downstream=null"]
    for method in ("the-pile-weights", "odm-code"):
        config = resolve_config("pile-odm-160m", method, 42, overrides)
        record, _ = execute(prepare_run(config, tmp_path), tmp_path, progress=False, track=False)
        assert record["status"] == "completed" and record["compute"]["steps"] == 6
        present = record["mixture"]["domains"]
        assert record["data_manifest"]["builder"] == "pile_odm"
        assert set(present) == set(record["data_manifest"]["domains"])
        assert all(f"ppl/{d}" in record["final"]["test"] for d in present)
        if method == "the-pile-weights":   # published weights, renormalised over the domains present
            tpw = {d: w for d, w in zip(present, record["mixture"]["weights"][0])}
            assert abs(sum(tpw.values()) - 1) < 1e-9
            if {"Pile-CC", "Github"} <= set(present):
                assert tpw["Pile-CC"] / tpw["Github"] == pytest.approx(0.1811 / 0.0759)
