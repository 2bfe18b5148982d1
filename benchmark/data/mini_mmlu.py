"""Generate the embedded benchmark's multiple-choice probe set ("mini-MMLU") as lm-eval data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from ..paths import resource_dir
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


def write_mini_mmlu(corpus: SyntheticCorpus, directory: Path, per_subject: int, seed: int) -> Path:
    """Write dev (few-shot pool) and test JSONL plus a resolved task YAML; returns the YAML path."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for split_id, (split, count) in enumerate((("dev", 5), ("test", per_subject))):
        path = directory / f"mini_mmlu_{split}.jsonl"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in _questions(corpus, count, seed, split_id)))
        tmp.replace(path)
        files[split] = str(path.resolve())
    template = yaml.safe_load((resource_dir("tasks") / "lm_eval" / "mini_mmlu.yaml").read_text())
    template["dataset_kwargs"]["data_files"] = files
    task_yaml = directory / "mini_mmlu.yaml"
    task_yaml.write_text(yaml.safe_dump(template, sort_keys=False))
    return task_yaml
