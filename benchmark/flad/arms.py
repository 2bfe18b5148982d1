"""FLAD's auxiliary arms (T0Mix, P3) and the 11 T0 held-out targets, as published.

Facts from the FLAD paper and code (Albalak, Raffel, Wang 2023, arXiv 2302.00674; github
alon-albalak/FLAD). The arm lists live in paper_tables/{t0mix,p3}_arms.txt (one hub
"dataset/subset" per line); an arm is one such pair, with all its prompt templates pooled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..paths import resource_dir

ARM_LISTS = ("t0mix", "p3")
ARM_LIST_VARIANTS = ("default", "as_published")
# The P3 list as the FLAD code's name filter produced it keeps datasets that ARE evaluation data:
# glue/rte is SuperGLUE RTE's data; winograd_wsc and mwsc overlap WSC; axb/axg are SuperGLUE's
# RTE-format diagnostics. Removed by default; `arm_list: as_published` keeps them.
P3_LEAKY_ARMS = ("glue/rte", "winograd_wsc/wsc273", "winograd_wsc/wsc285", "mwsc", "super_glue/axb",
                 "super_glue/axg")


@lru_cache(maxsize=None)
def published_arms(name: str) -> tuple[str, ...]:
    """The arm list as published: 38 T0Mix arms or 261 P3 arms (paper_tables/<name>_arms.txt)."""
    if name not in ARM_LISTS:
        raise ValueError(f"data.arms: must be one of {list(ARM_LISTS)}, got {name!r}")
    path = resource_dir("paper_tables") / f"{name}_arms.txt"
    lines = [line.strip() for line in path.read_text().splitlines()]
    return tuple(line for line in lines if line and not line.startswith("#"))


def arm_list(name: str, variant: str = "default") -> list[str]:
    """Arms of `name`; variant "default" drops the P3 arms that overlap a target (see P3_LEAKY_ARMS)."""
    if variant not in ARM_LIST_VARIANTS:
        raise ValueError(f"data.arm_list: must be one of {list(ARM_LIST_VARIANTS)}, got {variant!r}")
    arms = list(published_arms(name))
    if name == "p3" and variant == "default":
        arms = [a for a in arms if a not in P3_LEAKY_ARMS]
    return arms


def split_arm(arm: str) -> tuple[str, str | None]:
    """"glue/mrpc" → ("glue", "mrpc"); "Zaid/quac_expanded" (a namespaced dataset) → itself, None."""
    parts = arm.split("/")
    if len(parts) == 2 and arm.startswith("Zaid/"):
        return arm, None
    if len(parts) == 3:  # "owner/dataset/subset"
        return "/".join(parts[:2]), parts[2]
    return (parts[0], parts[1]) if len(parts) == 2 else (arm, None)


def p3_name(text: str) -> str:
    """bigscience/P3 config-name sanitising: anything but letters, digits, '.', '_' becomes '_'."""
    return re.sub(r"[^\w\d\._]+", "_", text)


def p3_prefix(arm: str) -> str:
    """Config-name prefix of an arm's templates in bigscience/P3 ("dataset_subset_")."""
    dataset, subset = split_arm(arm)
    return p3_name(f"{dataset}_{subset}_" if subset else f"{dataset}_")


# -- targets ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetSpec:
    """One held-out target: where its prompted rows live and how the few-shot split is drawn.

    shots: N examples drawn from `train_split` (shuffled with the split seed), halved into
    train / validation (early stopping). test_split: accuracy is reported on all of it.
    p3_prefix / p3_suffix: its template configs in bigscience/P3 (ANLI's round is a suffix).
    hub: the raw (dataset, subset) for the promptsource route; lm_eval_task: lm-eval's built-in task
    (the "lm_eval_acc" protocol on real data).
    """

    name: str
    shots: int
    train_split: str
    test_split: str
    p3_prefix: str
    p3_suffix: str = ""
    hub: tuple[str, str | None] = ("", None)
    lm_eval_task: str | None = None
    note: str = ""


T0_HELD_OUT: dict[str, TargetSpec] = {t.name: t for t in (
    TargetSpec("anli_r1", 50, "train_r1", "test_r1", "anli_", "_r1", ("anli", None), "anli_r1"),
    TargetSpec("anli_r2", 50, "train_r2", "test_r2", "anli_", "_r2", ("anli", None), "anli_r2"),
    TargetSpec("anli_r3", 50, "train_r3", "test_r3", "anli_", "_r3", ("anli", None), "anli_r3"),
    TargetSpec("cb", 32, "train", "validation", "super_glue_cb_", hub=("super_glue", "cb"), lm_eval_task="cb"),
    TargetSpec("copa", 32, "train", "validation", "super_glue_copa_", hub=("super_glue", "copa"), lm_eval_task="copa"),
    TargetSpec("rte", 32, "train", "validation", "super_glue_rte_", hub=("super_glue", "rte"),
               lm_eval_task="sglue_rte", note="lm-eval's `rte` is the GLUE copy of the same 277 examples"),
    TargetSpec("wic", 32, "train", "validation", "super_glue_wic_", hub=("super_glue", "wic"), lm_eval_task="wic"),
    TargetSpec("wsc", 32, "train", "validation", "super_glue_wsc.fixed_", hub=("super_glue", "wsc.fixed"),
               lm_eval_task="wsc", note="wsc.fixed; lm-eval's wsc273 is a different set"),
    TargetSpec("hellaswag", 20, "train", "validation", "hellaswag_", hub=("hellaswag", None),
               lm_eval_task="hellaswag", note="FLAD used T-Few's 7 custom templates (templates: tfew)"),
    TargetSpec("winogrande", 50, "train", "validation", "winogrande_winogrande_xl_",
               hub=("winogrande", "winogrande_xl"), lm_eval_task="winogrande"),
    TargetSpec("storycloze", 70, "validation", "test", "story_cloze_2016_", hub=("story_cloze", "2016"),
               lm_eval_task="storycloze_2016", note="manual download; few-shot drawn from validation"),
)}
# The five few-shot splits of the paper (seed → shuffled train split → first N → halves).
PAPER_SPLIT_SEEDS = (42, 100, 222, 3456, 5876)


def resolve_targets(requested: str | list[str] | None, available: list[str]) -> list[str]:
    """"all" / None → every target; a name or list → validated names (error names the allowed ones)."""
    if requested in (None, "all", ["all"]):
        return list(available)
    names = [requested] if isinstance(requested, str) else list(requested)
    names = [n for item in names for n in str(item).split(",") if n]
    unknown = [n for n in names if n not in available]
    if unknown or not names:
        raise ValueError(f"target: unknown target {unknown[0] if unknown else requested!r}; "
                         f"allowed: all, {', '.join(available)}")
    return names


def assign_configs(config_names: list[str], prefixes: dict[str, str], suffixes: dict[str, str] | None = None,
                   ) -> dict[str, list[str]]:
    """Template configs of each name: the longest matching prefix wins (so "cbt_CN_" never takes
    "cbt_CN_extra..." from a longer arm), score-eval copies are skipped, and a name with a suffix
    (ANLI's "_r1") takes only configs ending with it."""
    suffixes = suffixes or {}
    ordered = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))
    out: dict[str, list[str]] = {name: [] for name in prefixes}
    for config in sorted(config_names):
        if config.endswith("_score_eval"):
            continue
        for name, prefix in ordered:
            suffix = suffixes.get(name, "")
            if config.startswith(prefix) and config.endswith(suffix) and len(config) > len(prefix) + len(suffix):
                out[name].append(config)
                break
    return out
