"""Regenerate the papers' tables and figures from the results store, beside the published numbers.

`python -m benchmark tables [PATHS] [--output-dir paper_tables/generated]` writes Markdown, LaTeX
and PNG for:

- ODM Table 1 (5-shot MMLU by method: TPW, DoReMi-256k, DoReMi-50k, ODM) and ODM's
  average-validation-perplexity-vs-steps figure with the "19% fewer iterations" claim checked
  against our own curves — from records of task `pile-odm` or a scaled-down `pile-odm-*` (the one
  with most runs, or `--odm-task`; recipes `the-pile-weights`, `doremi-256k`, `doremi-50k`,
  `odm-code` / `odm-paper`);
- FLAD's main table (T5-XL / T0-3B × T0Mix / P3 × 5 methods, average over the 11 held-out targets)
  and its per-dataset table (arXiv v1 Table 2) — from records of tasks named `t0mix` / `p3` (or
  containing that word, e.g. `flad-p3-t5xl`), matched on
  the model name in the record's configuration (`model.name` / `model.pretrained`, e.g.
  `google/t5-xl-lm-adapt`, `bigscience/T0_3B`) and on the recipe (`target-only`, `explore-only`,
  `exploit-only`, `exp3-flad`, `ucb1-flad`). A FLAD record's per-target accuracies are read from
  `downstream[<target>]["acc"]` (0–1 or %, lm-eval task names such as `sglue_rte`,
  `storycloze_2016` are mapped to the paper's columns); one record may hold one or several
  targets; the 11-target average of a seed is only formed when all 11 are present.
- the same tables for the embedded benchmarks (every other task): pre-training ones by method
  (average perplexity, excess loss, mini-MMLU accuracy, steps-to-target) with an
  average-perplexity-vs-steps figure; FLAD-style ones (embedded-flad) by method × target with the
  average, the paired difference against Explore-Only and the sampling mass on the auxiliaries
  the generator made helpful.

Every cell shows the published number beside ours (mean ± 95% CI over seeds, n) or "not run".
Published numbers are data files in `paper_tables/` (shipped inside the package too).
"""

# The package's public names, kept importable from `benchmark.tables` as before the split.
from .build import build_tables
from .cells import NOT_RUN, fmt_ours, fmt_pub
from .cli import add_parser, run_command
from .embedded import embedded_tables
from .figures import bar_figure, pyplot, save
from .flad import (
    FLAD_METHODS, FLAD_TARGETS, TARGET_ALIASES, flad_config_key, flad_main_table, flad_per_dataset_table, flad_runs,
    flad_scores, flad_target_accuracies, model_matches, normalise_target, record_model_name,
)
from .odm import iterations_claim, mmlu_accuracy, odm_claim_table, odm_figure, odm_runs, odm_table1, odm_task
from .published import load_published, published_dir
from .selection import (
    FLAD_TASKS, ODM_TASK, completed_records, flad_auxiliary, is_odm_task, is_real_task, main_configuration,
    newest_per_seed,
)
from .table import Table, latex_escape

__all__ = [
    "FLAD_METHODS", "FLAD_TARGETS", "FLAD_TASKS", "NOT_RUN", "ODM_TASK", "TARGET_ALIASES", "Table", "add_parser",
    "bar_figure", "build_tables", "completed_records", "embedded_tables", "flad_auxiliary", "flad_config_key",
    "flad_main_table", "flad_per_dataset_table", "flad_runs", "flad_scores", "flad_target_accuracies", "fmt_ours",
    "fmt_pub", "is_odm_task", "is_real_task", "iterations_claim", "latex_escape", "load_published",
    "main_configuration", "mmlu_accuracy", "model_matches", "newest_per_seed", "normalise_target", "odm_claim_table",
    "odm_figure", "odm_runs", "odm_table1", "odm_task", "published_dir", "pyplot", "record_model_name", "run_command",
    "save",
]
