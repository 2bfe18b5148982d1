"""The embedded FLAD benchmark: synthetic few-shot targets + auxiliary datasets, written in
bigscience/P3's on-disk layout so the real data module and evaluator serve it unchanged.

Every task is a prompted classification (or, for a few auxiliary datasets, generation) over word
tokens. An input is a template's prompt words around `entities_per_input` entity words (default
one); the label of a classification task is `rule[first entity]`, where a *rule* is a balanced
random map from the entities to the task's classes, and the answer is the class's *verbalizer*
word. So:
- each target (few-shot: 20–70 labelled examples) has its own rule and verbalizers;
- for each target, `helpful` auxiliary datasets share its rule and verbalizers (other templates;
  one of them with 25% label noise): training on them teaches exactly what the target needs;
- `harmful` ones use the same verbalizers with a conflicting rule (every class shifted by one);
- all others are `neutral` (their own rules and verbalizers, or generation tasks without choices).
With few shots a target covers a fraction of the entities, so target-only fine-tuning generalises
poorly and the auxiliary mixture decides the outcome.
Two knobs keep the best mixture off the ceiling and make usefulness change over training:
- `helpful_coverage` < 1: a target's helpful auxiliaries only contain a fixed subset of its
  entities (that fraction); the rest can only be learned from the few shots, so even a perfect
  mixture cannot reach 100%;
- `transient_per_target`: auxiliaries that agree with the target on the covered entities and
  conflict with it (every class shifted by one) on the uncovered ones. Early in training they help
  like a helpful arm; once the covered entities are learned, all they still teach is the conflict,
  so a mixture fixed from early rewards keeps paying for them and an online method can drop them. Which datasets truly help is recorded in the
ground truth, so a run can report the sampling mass a method put on them.
The base model's pre-training corpus is prompted rows of unrelated tasks with random labels: it
teaches the format (prompt, then one answer word, then end of sequence), none of the rules.
Generation is deterministic from `generator_seed` (NumPy PCG64).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .arms import TargetSpec

SPECIAL = ("<pad>", "<eos>", "<unk>")

DEFAULTS: dict[str, Any] = {
    "generator_seed": 1234,
    "num_entities": 48,
    "num_prompt_words": 60,
    "num_label_words": 30,
    "entities_per_input": 1,
    # name, classes, shots (FLAD's targets have 20–70)
    "targets": [["tgt_a", 2, 32], ["tgt_b", 3, 50], ["tgt_c", 2, 20], ["tgt_d", 2, 70]],
    "helpful_per_target": 3,
    "harmful_per_target": 1,
    "helpful_label_noise": [0.0, 0.0, 0.25],
    "helpful_coverage": 1.0,      # fraction of the entities the helpful auxiliaries contain
    "transient_per_target": 0,    # helpful on the covered entities, conflicting on the others
    "neutral_classification": 10,
    "neutral_generative": 4,
    "arm_size": [500, 2000],
    "templates_per_arm": [2, 4],
    "target_templates": 3,
    "target_pool": 400,           # the target's "train split" the few-shot examples are drawn from
    "test_size": 300,
    "pretrain_sequences": 4000,
}


def vocabulary(spec: dict[str, Any]) -> list[str]:
    return (list(SPECIAL) + [f"e{i:02d}" for i in range(spec["num_entities"])]
            + [f"p{i:02d}" for i in range(spec["num_prompt_words"])]
            + [f"l{i:02d}" for i in range(spec["num_label_words"])])


@dataclass
class SynTask:
    name: str
    role: str                       # target | helpful | harmful | transient | neutral
    rule: np.ndarray | None         # entity → class (None: generation task)
    verbalizers: list[str]
    templates: list[tuple[list[str], list[str]]]  # (prefix words, suffix words)
    size: int
    label_noise: float = 0.0
    related_target: str | None = None
    generative_kind: int = 0
    entities: np.ndarray | None = None   # the entities its inputs draw from (None: all)


def _balanced_rule(rng: np.random.Generator, entities: int, classes: int) -> np.ndarray:
    return rng.permutation(np.arange(entities) % classes)


def _covered(rng: np.random.Generator, entities: int, coverage: float) -> np.ndarray | None:
    """The sorted entities a target's helpful auxiliaries contain (None: all; draws nothing then, so
    a coverage of 1 generates exactly the benchmark of earlier versions)."""
    if coverage >= 1.0:
        return None
    count = max(1, int(round(coverage * entities)))
    return np.sort(rng.choice(entities, size=count, replace=False))


def _templates(rng: np.random.Generator, count: int, prompt_words: int) -> list[tuple[list[str], list[str]]]:
    out = []
    for _ in range(count):
        prefix = [f"p{int(w):02d}" for w in rng.choice(prompt_words, size=int(rng.integers(2, 4)), replace=False)]
        suffix = [f"p{int(w):02d}" for w in rng.choice(prompt_words, size=int(rng.integers(1, 3)), replace=False)]
        out.append((prefix, suffix))
    return out


def build_tasks(spec: dict[str, Any]) -> tuple[list[SynTask], list[SynTask]]:
    """(targets, auxiliary arms) — arms in a shuffled order under neutral names aux_00, aux_01, ..."""
    rng = np.random.Generator(np.random.PCG64(spec["generator_seed"]))
    n_ent, n_prompt = spec["num_entities"], spec["num_prompt_words"]
    label_pool = [f"l{i:02d}" for i in range(spec["num_label_words"])]
    used = 0
    targets, aux = [], []
    lo, hi = spec["arm_size"]
    tlo, thi = spec["templates_per_arm"]
    for name, classes, _shots in spec["targets"]:
        verbalizers = label_pool[used:used + classes]
        used += classes
        rule = _balanced_rule(rng, n_ent, classes)
        targets.append(SynTask(name, "target", rule, verbalizers,
                               _templates(rng, spec["target_templates"], n_prompt), spec["target_pool"]))
        covered = _covered(rng, n_ent, spec["helpful_coverage"])
        for k in range(spec["helpful_per_target"]):
            noise = spec["helpful_label_noise"][k] if k < len(spec["helpful_label_noise"]) else 0.0
            aux.append(SynTask("", "helpful", rule, verbalizers, _templates(rng, int(rng.integers(tlo, thi + 1)), n_prompt),
                               int(rng.integers(lo, hi + 1)), noise, name, entities=covered))
        for _ in range(spec["transient_per_target"]):
            mixed = np.where(np.isin(np.arange(n_ent), covered if covered is not None else np.arange(n_ent)),
                             rule, (rule + 1) % classes)
            aux.append(SynTask("", "transient", mixed, verbalizers,
                               _templates(rng, int(rng.integers(tlo, thi + 1)), n_prompt), int(rng.integers(lo, hi + 1)),
                               0.0, name))
        for _ in range(spec["harmful_per_target"]):
            aux.append(SynTask("", "harmful", (rule + 1) % classes, verbalizers,
                               _templates(rng, int(rng.integers(tlo, thi + 1)), n_prompt), int(rng.integers(lo, hi + 1)),
                               0.0, name))
    free = label_pool[used:]
    for _ in range(spec["neutral_classification"]):
        classes = int(rng.integers(2, 4))
        verbalizers = [free[int(i)] for i in rng.choice(len(free), size=classes, replace=False)]
        aux.append(SynTask("", "neutral", _balanced_rule(rng, n_ent, classes), verbalizers,
                           _templates(rng, int(rng.integers(tlo, thi + 1)), n_prompt), int(rng.integers(lo, hi + 1))))
    for k in range(spec["neutral_generative"]):
        aux.append(SynTask("", "neutral", None, [], _templates(rng, int(rng.integers(tlo, thi + 1)), n_prompt),
                           int(rng.integers(lo, hi + 1)), generative_kind=k % 2))
    order = rng.permutation(len(aux))
    arms = [aux[i] for i in order]
    for i, arm in enumerate(arms):
        arm.name = f"aux_{i:02d}"
    return targets, arms


def _rows(task: SynTask, rng: np.random.Generator, count: int, spec: dict[str, Any],
          word_id: dict[str, int]) -> list[list[dict[str, Any]]]:
    """count examples, each rendered under every template: rows[template][example]."""
    n_ent, k = spec["num_entities"], spec["entities_per_input"]
    entities = (rng.integers(0, n_ent, size=(count, k)) if task.entities is None
                else rng.choice(task.entities, size=(count, k)))
    noisy = rng.random(count) < task.label_noise
    shift = rng.integers(1, max(len(task.verbalizers), 2), size=count)
    per_template: list[list[dict[str, Any]]] = [[] for _ in task.templates]
    for i in range(count):
        words = [f"e{int(e):02d}" for e in entities[i]]
        if task.rule is not None:
            label = int(task.rule[entities[i, 0]])
            if noisy[i]:
                label = (label + int(shift[i])) % len(task.verbalizers)
            target, choices = task.verbalizers[label], list(task.verbalizers)
        else:
            target, choices = (words[-1] if task.generative_kind == 0 else " ".join(words[:2][::-1])), None
        for t, (prefix, suffix) in enumerate(task.templates):
            text = " ".join(prefix + words + suffix)
            row = {"inputs": [word_id[w] for w in text.split()], "inputs_pretokenized": text,
                   "targets": [word_id[w] for w in target.split()], "targets_pretokenized": target}
            if choices is not None:
                row["answer_choices"] = choices
            per_template[t].append(row)
    return per_template


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def resolve_spec(data_section: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data_section) - set(DEFAULTS) - {"builder", "source", "target", "template_seed",
                                                          "max_examples_per_arm", "arms", "arm_list"})
    if unknown:
        raise ValueError(f"data.{unknown[0]}: unknown key for the embedded FLAD benchmark; allowed: "
                         f"{', '.join(sorted(DEFAULTS))}")
    return {key: data_section.get(key, default) for key, default in DEFAULTS.items()}


def write_embedded(spec: dict[str, Any], root: Path) -> Path:
    """Generate (once per spec hash) the embedded benchmark under root/flad-embedded-<hash>/:
    `p3/<config>/<split>.parquet` and `ground_truth.json`. Returns that directory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory = root / f"flad-embedded-{spec_hash(spec)}"
    done = directory / "ground_truth.json"
    if done.exists():
        return directory
    targets, arms = build_tasks(spec)
    vocab = vocabulary(spec)
    word_id = {w: i for i, w in enumerate(vocab)}
    p3 = directory / "p3"
    for index, task in enumerate(targets + arms):
        rng = np.random.Generator(np.random.PCG64([spec["generator_seed"], 1000 + index]))
        splits = {"train": task.size}
        if task.role == "target":
            splits["test"] = spec["test_size"]
        for split, count in splits.items():
            for t, rows in enumerate(_rows(task, rng, count, spec, word_id)):
                path = p3 / f"{task.name}_t{t}" / f"{split}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.Table.from_pylist(rows), path)
    truth = {
        "spec": spec, "vocabulary": vocab,
        "targets": {t.name: {"classes": len(t.verbalizers), "verbalizers": t.verbalizers,
                             "shots": next(s for n, _, s in spec["targets"] if n == t.name)} for t in targets},
        "arms": {a.name: {"role": a.role, "related_target": a.related_target, "size": a.size,
                          "templates": len(a.templates), "label_noise": a.label_noise,
                          "generative": a.rule is None,
                          **({"entities": [int(e) for e in a.entities]} if a.entities is not None else {})}
                 for a in arms},
    }
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(truth, indent=1))
    tmp.replace(done)
    return directory


def load_ground_truth(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "ground_truth.json").read_text())


def arm_roles(truth: dict[str, Any], target: str) -> dict[str, str]:
    """Each arm's role for one target: helpful / harmful / transient (related to it) or neutral."""
    return {name: (info["role"] if info["related_target"] == target else "neutral")
            for name, info in truth["arms"].items()}


def target_specs(truth: dict[str, Any]) -> dict[str, TargetSpec]:
    return {name: TargetSpec(name, info["shots"], "train", "test", f"{name}_") for name, info in truth["targets"].items()}


def pretraining_corpus(spec: dict[str, Any], seq_len: int) -> np.ndarray:
    """Token ids [n, seq_len + 1]: prompted rows of unrelated tasks (random templates, random labels
    from random verbalizers), separated by <eos> — the format without any of the rules."""
    vocab = vocabulary(spec)
    word_id = {w: i for i, w in enumerate(vocab)}
    rng = np.random.Generator(np.random.PCG64([spec["generator_seed"], 99]))
    stream: list[int] = []
    needed = spec["pretrain_sequences"] * (seq_len + 1)
    labels = [f"l{i:02d}" for i in range(spec["num_label_words"])]
    while len(stream) < needed:
        prefix, suffix = _templates(rng, 1, spec["num_prompt_words"])[0]
        entities = [f"e{int(e):02d}" for e in rng.integers(0, spec["num_entities"], spec["entities_per_input"])]
        answer = labels[int(rng.integers(len(labels)))] if rng.random() < 0.8 else entities[-1]
        stream.extend(word_id[w] for w in prefix + entities + suffix + [answer])
        stream.append(word_id["<eos>"])
    return np.asarray(stream[:needed], dtype=np.int64).reshape(-1, seq_len + 1)
