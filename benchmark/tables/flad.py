"""FLAD's main table and per-dataset table (published / ours), from records of tasks t0mix / p3
matched on the model name and the recipe."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

from ..leaderboard import payload_hash, summary
from .cells import NOT_RUN, fmt_ours, fmt_pub
from .published import load_published
from .selection import FLAD_TASKS, completed_records, flad_auxiliary, main_configuration
from .table import Table

# (column key, paper's label, recipes that ran it)
FLAD_METHODS = [("target_only", "Target-Only", ["target-only"]), ("explore_only", "Explore-Only", ["explore-only"]),
                ("exploit_only", "Exploit-Only", ["exploit-only"]), ("exp3_flad", "EXP3-FLAD", ["exp3-flad"]),
                ("ucb1_flad", "UCB1-FLAD", ["ucb1-flad"])]
FLAD_TARGETS = ["anli_r1", "anli_r2", "anli_r3", "cb", "copa", "hellaswag", "rte", "storycloze", "wic",
                "winogrande", "wsc"]
TARGET_ALIASES = {"sglue_rte": "rte", "super_glue_rte": "rte", "glue_rte": "rte", "storycloze_2016": "storycloze",
                  "story_cloze": "storycloze", "story_cloze_2016": "storycloze", "wsc.fixed": "wsc", "wsc_fixed": "wsc",
                  "winogrande_xl": "winogrande", "super_glue_cb": "cb", "super_glue_copa": "copa",
                  "super_glue_wic": "wic", "super_glue_wsc": "wsc"}


def flad_config_key(record: dict[str, Any]) -> str:
    """FLAD trains one model per target, so the target (in the data section) must not split runs:
    runs are pooled when their model, training budget and evaluation protocol agree."""
    task = (record.get("config") or {}).get("task") or {}
    digest = payload_hash([record_model_name(record), task.get("training", {}), task.get("evaluation", {})])
    return f"{record['task']}#{digest[:8]}"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def record_model_name(record: dict[str, Any]) -> str:
    model = ((record.get("config") or {}).get("task") or {}).get("model") or {}
    for key in ("name", "pretrained", "model_name", "hf_name", "path", "checkpoint"):
        if model.get(key):
            return str(model[key])
    return str(record.get("model") or "")


def model_matches(record: dict[str, Any], published_model: str) -> bool:
    return bool(_norm(published_model)) and _norm(published_model) in _norm(record_model_name(record))


def normalise_target(name: str) -> str:
    key = name.lower()
    key = TARGET_ALIASES.get(key, key)
    return key


def flad_target_accuracies(record: dict[str, Any]) -> dict[str, float]:
    """Per-target accuracy in % from record["downstream"]."""
    out = {}
    for key, value in (record.get("downstream") or {}).items():
        target = normalise_target(key)
        if target in FLAD_TARGETS and isinstance(value, dict) and value.get("acc") is not None:
            acc = float(value["acc"])
            out[target] = 100 * acc if acc <= 1.0 else acc
    return out


def flad_runs(records: list[dict[str, Any]], auxiliary: str, model: str, recipes: list[str],
              any_auxiliary: bool = False) -> list[dict[str, Any]]:
    wanted = set(FLAD_TASKS) if any_auxiliary else {auxiliary}
    return [r for r in completed_records(records) if flad_auxiliary(r["task"]) in wanted and r["method"] in recipes
            and model_matches(r, model)]


def flad_scores(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per seed: targets merged over records (newest wins); per-target and 11-target-average summaries."""
    per_seed: dict[int, dict[str, float]] = defaultdict(dict)
    for run in sorted(runs, key=lambda r: r.get("created_unix", 0)):
        per_seed[run["seed"]].update(flad_target_accuracies(run))
    per_target = {}
    for target in FLAD_TARGETS:
        values = [accs[target] for _, accs in sorted(per_seed.items()) if target in accs]
        per_target[target] = summary(values) if values else None
    complete = [float(np.mean([accs[t] for t in FLAD_TARGETS])) for _, accs in sorted(per_seed.items())
                if all(t in accs for t in FLAD_TARGETS)]
    present = max((len(accs) for accs in per_seed.values()), default=0)
    return {"per_target": per_target, "avg": summary(complete) if complete else None,
            "seeds": sorted(per_seed), "complete_seeds": len(complete), "max_targets": present}


def _cell_scores(records: list[dict[str, Any]], auxiliary: str, model: str, recipes: list[str],
                 any_auxiliary: bool, notes: list[str], what: str) -> dict[str, Any] | None:
    """Scores of one published cell's runs (one configuration of them); None when none ran."""
    runs = flad_runs(records, auxiliary, model, recipes, any_auxiliary=any_auxiliary)
    if not runs:
        return None
    return flad_scores(main_configuration(runs, notes, what, flad_config_key))


def _flad_cell(published: float | None, scores: dict[str, Any] | None, key: str = "avg", digits: int = 2) -> str:
    pub = fmt_pub(published, digits)
    if scores is None or not scores["seeds"]:
        return f"{pub} / {NOT_RUN}"
    value = scores["avg"] if key == "avg" else scores["per_target"].get(key)
    if value is None:
        return f"{pub} / partial ({scores['max_targets']}/11 targets)" if key == "avg" else f"{pub} / {NOT_RUN}"
    return f"{pub} / {fmt_ours(value, 1)}"


def flad_main_table(records: list[dict[str, Any]]) -> Table:
    published = load_published("flad_numbers.yaml")["main_table"]
    notes: list[str] = []
    headers = ["model", "auxiliary"] + [label for _, label, _ in FLAD_METHODS]
    rows, data = [], []
    for entry in published:
        row = [entry["model"], entry["auxiliary"]]
        for key, label, recipes in FLAD_METHODS:
            scores = _cell_scores(records, entry["auxiliary"], entry["model"], recipes, key == "target_only", notes,
                                  f"{entry['model']}/{entry['auxiliary']}/{label}")
            row.append(_flad_cell(entry[key], scores))
            data.append({"model": entry["model"], "auxiliary": entry["auxiliary"], "method": key,
                         "published": entry[key], "ours": scores["avg"] if scores else None, "scores": scores})
        rows.append(row)
    notes.append("Cells: published / ours. Published: FLAD (arXiv 2302.00674) final NeurIPS table, reward R_AGG, "
                 "average accuracy (%) over the 11 T0 held-out targets, mean over 5 few-shot splits. Ours: tasks "
                 "t0mix / p3, recipes target-only, explore-only, exploit-only, exp3-flad, ucb1-flad (as the code ran); "
                 "mean ± 95% CI over seeds of the 11-target average.")
    return Table("flad_main_table", "FLAD main table — average accuracy over 11 targets (published / ours)",
                 headers, rows, data, notes)


def flad_per_dataset_table(records: list[dict[str, Any]]) -> Table:
    published = load_published("flad_numbers.yaml")["per_dataset_v1"]
    notes: list[str] = []
    headers = ["model", "auxiliary", "method"] + FLAD_TARGETS + ["avg"]
    labels = {k: label for k, label, _ in FLAD_METHODS}
    recipes_of = {k: recipes for k, _, recipes in FLAD_METHODS}
    rows, data = [], []
    for entry in published:
        method = entry["method"]
        auxiliary = entry["auxiliary"] if entry["auxiliary"] in FLAD_TASKS else "T0Mix"
        scores = _cell_scores(records, auxiliary, entry["model"], recipes_of[method], entry["auxiliary"] == "none",
                              notes, f"{entry['model']}/{entry['auxiliary']}/{method}")
        row = [entry["model"], entry["auxiliary"], labels[method]]
        for target in FLAD_TARGETS + ["avg"]:
            row.append(_flad_cell(entry.get(target), scores, target, digits=1))
            ours = (scores["avg"] if target == "avg" else scores["per_target"].get(target)) if scores else None
            data.append({"model": entry["model"], "auxiliary": entry["auxiliary"], "method": method, "target": target,
                         "published": entry.get(target), "ours": ours})
        rows.append(row)
    notes.append("Cells: published / ours (accuracy %). Published: FLAD arXiv v1 Table 2 (reward R_GA; baselines as in "
                 "the final paper). T0-style rank classification; numbers scored with lm-eval's default protocol are "
                 "not directly comparable (see the task files).")
    return Table("flad_per_dataset", "FLAD per-dataset accuracy (arXiv v1 Table 2; published / ours)",
                 headers, rows, data, notes)
