"""FLAD's data: auxiliary arms (all templates of a dataset pooled) and few-shot targets.

Both real benchmarks (T0Mix, P3) and the embedded twin go through these functions; only the
source of template configs differs (see sources.py). Facts from the FLAD paper and code (arXiv 2302.00674; docs/benchmarks.md):
- an arm = one (dataset, subset); its template configs are pooled and one template is drawn per
  example (seeded, fixed for the whole run); at most the first 10,000 examples per arm;
- a target's few-shot split: its train split shuffled with the split seed (as the code does:
  NumPy's legacy `np.random.seed(seed); np.random.shuffle(rows)`), the first N taken, halved into
  train / validation; the test split is used whole;
- evaluation: one template per test example, drawn with a fixed seed (so every method and split
  sees the same prompts).
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .arms import TargetSpec, assign_configs, p3_prefix

MAX_EXAMPLES_PER_ARM = 10_000


@dataclass(frozen=True)
class Example:
    """One prompted example in P3's terms: inputs / targets (pretokenized) and answer choices."""

    input: str
    target: str
    choices: tuple[str, ...] | None = None
    template: str = ""
    label: int | None = None        # index of `target` among `choices` (targets' rows)

    def as_doc(self) -> dict[str, Any]:
        """The lm-eval document of a test / validation example."""
        return {"input": self.input, "choices": list(self.choices or ()), "label": self.label,
                "template": self.template}


@dataclass
class Arm:
    name: str
    examples: list[Example]
    templates: list[str]

    def __len__(self) -> int:
        return len(self.examples)


@dataclass
class TargetData:
    """A few-shot target: train / validation halves (each example under every usable template,
    a template drawn per use), and the test documents (one seeded template per example)."""

    name: str
    train: list[dict[str, Example]]
    validation: list[Example]
    test: list[Example]
    test_fixed: list[Example]        # the same test examples under one fixed template (lm_eval_acc)
    templates: list[str]
    few_shot_indices: list[int]
    skipped_templates: dict[str, str] = field(default_factory=dict)


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


def _example(row: dict[str, Any], config: str) -> Example:
    choices = row.get("answer_choices")
    choices = tuple(str(c).strip() for c in choices) if choices else None
    target = str(row["targets_pretokenized"]).strip()
    label = choices.index(target) if choices and target in choices else None
    return Example(str(row["inputs_pretokenized"]).strip(), target, choices, config, label)


def load_arm(source: Any, name: str, configs: list[str], split: str = "train",
             max_examples: int = MAX_EXAMPLES_PER_ARM, template_seed: int = 0) -> Arm:
    """Pool an arm's template configs: example i (i < max_examples) takes one template drawn with a
    seeded RNG among the configs that have an i-th row."""
    if not configs:
        raise ValueError(f"arm {name!r}: no template configs found in the source")
    tables = {c: source.rows(c, split, limit=max_examples) for c in configs if source.has_split(c, split)}
    tables = {c: rows for c, rows in tables.items() if rows}
    if not tables:
        raise ValueError(f"arm {name!r}: none of its {len(configs)} template configs has a '{split}' split")
    rng = np.random.Generator(np.random.PCG64([template_seed, _stable(name)]))
    size = min(max_examples, max(len(rows) for rows in tables.values()))
    names = sorted(tables)
    examples = []
    for i in range(size):
        candidates = [c for c in names if len(tables[c]) > i]
        config = candidates[int(rng.integers(len(candidates)))]
        examples.append(_example(tables[config][i], config))
    return Arm(name, examples, names)


def _aligned_rows(source: Any, configs: list[str], split: str) -> tuple[dict[int, dict[str, dict]], dict[str, str]]:
    """index → {config: row} for one split. Rows carry `_index` (promptsource route) or are aligned by
    position (bigscience/P3), in which case a template with fewer rows than the others (a filtered
    template, e.g. COPA's cause-only prompts) cannot be aligned and is skipped, with the reason."""
    tables = {c: source.rows(c, split) for c in configs if source.has_split(c, split)}
    skipped: dict[str, str] = {}
    per_index: dict[int, dict[str, dict]] = defaultdict(dict)
    full = max((len(rows) for rows in tables.values()), default=0)
    for config, rows in tables.items():
        if rows and "_index" in rows[0]:
            for row in rows:
                per_index[int(row["_index"])][config] = row
        elif len(rows) == full:
            for i, row in enumerate(rows):
                per_index[i][config] = row
        else:
            skipped[config] = f"{len(rows)} of {full} rows in '{split}' (filtered template; rows not alignable)"
    return per_index, skipped


def few_shot_indices(pool_size: int, shots: int, seed: int) -> list[int]:
    """FLAD's draw: shuffle the train split with NumPy's legacy global-seed shuffle, take the first N."""
    order = list(range(pool_size))
    np.random.RandomState(seed).shuffle(order)
    return order[:shots]


def load_target(source: Any, spec: TargetSpec, split_seed: int, template_seed: int = 0,
                shots: int | None = None) -> TargetData:
    configs = assign_configs(source.config_names(), {spec.name: spec.p3_prefix},
                             {spec.name: spec.p3_suffix})[spec.name]
    if not configs:
        raise ValueError(f"target {spec.name!r}: no template configs with prefix {spec.p3_prefix!r} in the source")
    train_rows, skipped = _aligned_rows(source, configs, spec.train_split)
    test_rows, skipped_test = _aligned_rows(source, configs, spec.test_split)
    skipped.update(skipped_test)

    def usable(rows: dict[str, dict]) -> dict[str, Example]:
        out = {c: _example(r, c) for c, r in rows.items()}
        return {c: e for c, e in out.items() if e.choices and e.label is not None}  # rank classification needs choices

    pool = sorted(train_rows)
    shots = shots or spec.shots
    if len(pool) < shots:
        raise ValueError(f"target {spec.name!r}: split {spec.train_split!r} has {len(pool)} examples, fewer than "
                         f"{shots} shots")
    chosen = [pool[i] for i in few_shot_indices(len(pool), shots, split_seed)]
    half = shots // 2
    train = [usable(train_rows[i]) for i in chosen[:half]]
    rng = np.random.Generator(np.random.PCG64([template_seed, _stable(spec.name)]))

    def one_template(options: dict[str, Example]) -> Example:
        names = sorted(options)
        return options[names[int(rng.integers(len(names)))]]

    validation = [one_template(usable(train_rows[i])) for i in chosen[half:]]
    test_usable = [usable(test_rows[i]) for i in sorted(test_rows)]
    test_usable = [t for t in test_usable if t]
    test = [one_template(t) for t in test_usable]
    templates = sorted({c for t in test_usable for c in t} | {c for t in train for c in t})
    fixed = templates[0]
    test_fixed = [t.get(fixed) or t[sorted(t)[0]] for t in test_usable]
    if not all(train) or not validation or not test:
        raise ValueError(f"target {spec.name!r}: no template with answer choices covers every few-shot example")
    return TargetData(spec.name, train, validation, test, test_fixed, templates, chosen, skipped)


def arm_configs(source: Any, arms: list[str]) -> dict[str, list[str]]:
    return assign_configs(source.config_names(), {a: p3_prefix(a) for a in arms})


def manifest_hash(arms: list[Arm], target: TargetData) -> str:
    digest = hashlib.sha256()
    for arm in arms:
        digest.update(arm.name.encode())
        for e in arm.examples:
            digest.update(f"{e.template}\x1f{e.input}\x1f{e.target}\x1e".encode())
    digest.update(target.name.encode())
    for group in (*[list(t.values()) for t in target.train], target.validation, target.test):
        for e in group:
            digest.update(f"{e.template}\x1f{e.input}\x1f{e.target}\x1f{e.choices}\x1e".encode())
    return digest.hexdigest()
