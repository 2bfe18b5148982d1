"""Generate the embedded benchmark's multiple-choice probe set ("mini-MMLU") as lm-eval data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from ..paths import resource_dir
from ..records import write_text_if_changed
from .synthetic_pretrain import FAMILY_RANGES, SyntheticCorpus
from .tokenizer import words_to_text

CONTEXT_LENGTH = 12
NUM_CHOICES = 4


def _questions(corpus: SyntheticCorpus, per_subject: int, seed: int, split_id: int) -> list[dict]:
    rows = []
    for index, chain in enumerate(corpus.chains):
        if chain.spec.noise:
            continue  # pure noise has no structure to probe
        rng = np.random.Generator(np.random.PCG64([seed, index, 100 + split_id]))
        low, high = FAMILY_RANGES[chain.spec.family]
        made, attempts = 0, 0
        while made < per_subject:
            attempts += 1
            if attempts > 1000 * per_subject:
                raise ValueError(f"mini-MMLU: cannot make {per_subject} questions for domain {chain.spec.name!r}")
            context = chain.sample(rng, 1, CONTEXT_LENGTH)[0]
            probs = chain.transition[context[-1] - low]
            best = float(probs.max())
            # Distractors the domain does emit after this context, but clearly less often than the
            # gold answer (telling them apart needs the domain's statistics, not just its
            # vocabulary); where a context has too few, tokens it never emits fill the gap.
            plausible = rng.permutation(np.flatnonzero((probs > 0) & (probs < 0.5 * best)))
            never = rng.permutation(np.flatnonzero(probs == 0))
            pool = np.concatenate([plausible, never])[:NUM_CHOICES - 1]
            if len(pool) < NUM_CHOICES - 1 or probs[probs.argmax()] == 0:
                continue
            gold = int(np.argmax(probs)) + low
            distractors = [int(d) + low for d in pool]
            choices = [gold] + [int(d) for d in distractors]
            order = rng.permutation(NUM_CHOICES)
            rows.append({
                "subject": chain.spec.name,
                "context": words_to_text(context),
                "choices": [words_to_text([choices[k]]) for k in order],
                "answer": int(np.flatnonzero(order == 0)[0]),
            })
            made += 1
    return rows


def interleave_subjects(rows: list[dict]) -> list[dict]:
    """Round-robin over subjects (1st question of each subject, then the 2nd, ...): lm-eval's
    `limit` keeps the first N documents, so a limited run (--quick, `lm_eval --limit`) still draws
    from every subject. The set of questions, hence full-run accuracy, is unchanged."""
    rank: dict[str, int] = {}
    keyed = []
    for index, row in enumerate(rows):
        rank[row["subject"]] = rank.get(row["subject"], -1) + 1
        keyed.append((rank[row["subject"]], index, row))
    return [row for _, _, row in sorted(keyed, key=lambda k: k[:2])]


def write_questions(corpus: SyntheticCorpus, directory: Path, per_subject: int, seed: int) -> dict[str, Path]:
    """Write dev (few-shot pool) and test JSONL; returns {split: path}."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for split_id, (split, count) in enumerate((("dev", 5), ("test", per_subject))):
        path = directory / f"mini_mmlu_{split}.jsonl"
        rows = interleave_subjects(_questions(corpus, count, seed, split_id))
        write_text_if_changed(path, "".join(json.dumps(r) + "\n" for r in rows))
        files[split] = path
    return files


def write_mini_mmlu(corpus: SyntheticCorpus, directory: Path, per_subject: int, seed: int) -> Path:
    """Write the questions plus a task YAML that includes the shipped one
    (tasks/lm_eval/mini_mmlu.yaml) with absolute paths to these files; returns the YAML path."""
    files = write_questions(corpus, directory, per_subject, seed)
    task = {"include": str((resource_dir("tasks") / "lm_eval" / "mini_mmlu.yaml").resolve()),
            "dataset_kwargs": {"data_files": {split: str(path.resolve()) for split, path in files.items()}}}
    task_yaml = directory / "mini_mmlu.yaml"
    write_text_if_changed(task_yaml, yaml.safe_dump(task, sort_keys=False))
    return task_yaml


def write_shipped_questions(directory: Path) -> dict[str, Path]:
    """The questions of the embedded-pretrain task as configured (tasks/embedded-pretrain.yaml),
    i.e. the files shipped in tasks/lm_eval/data/ for the real `lm_eval` CLI."""
    from ..config import load_task
    from .synthetic_pretrain import build_chains

    spec = load_task("embedded-pretrain")["data"]
    corpus = SyntheticCorpus([], {}, {}, build_chains(spec["generator_seed"]))
    return write_questions(corpus, directory, spec.get("probe_questions", 40), spec["generator_seed"])


if __name__ == "__main__":   # maintainers: python -m benchmark.data.mini_mmlu tasks/lm_eval/data
    import sys

    print(write_shipped_questions(Path(sys.argv[1])))
