"""Leaderboard tables from result records: mean ± 95% CI over seeds, several metrics side by side.

One table per benchmark (a task at one budget: records whose task configuration differs — e.g. a
`--quick` run and a full run — are never pooled), one row per method variant (recipe name +
hyperparameters). Every number is computed from the records only:

- metric columns (test split): mean over seeds ± the half-width of the 95% t confidence interval
  (`scipy.stats.t`, n − 1 degrees of freedom; no interval with one seed);
- "Δ vs <baseline>" (uniform; on FLAD benchmarks Explore-Only, FLAD's uniform mixture; or
  `--baseline`): the paired difference method − baseline over the seeds both have run, with
  its own 95% t interval (pairs share data order and initialisation, so this interval is the
  one that says whether a method beats the baseline);
- steps-to-target: per paired seed, the first evaluation step at which the method's VALIDATION
  average perplexity (unweighted mean of per-domain perplexities, from the record's curves) is at
  or below the baseline's final validation average perplexity (its last evaluation point) — ODM's
  "reaches the final perplexity with 19% fewer iterations";
- overhead: the strategy's share of training-step time; extra compute: the record's
  `compute.extra_runs` (reference/proxy runs, sweep trials) in steps and tokens, also relative to
  the run's own training tokens;
- tuning: `record["tuning"]` (tuned or published hyperparameters, number of trials, study).
- FLAD-style records (one per method × target × split seed): a seed's value is the mean over the
  benchmark's targets, and a seed missing a target is left out (counted in the row).

`python -m benchmark leaderboard [PATHS] [--output-dir DIR]` prints the Markdown and writes
`leaderboard.md`, `leaderboard.csv` and a self-contained `leaderboard.html` (plots embedded, sortable and
filterable tables, links to the records and MLflow runs). The terminal gets a compact table (≤ 120 columns).
"""

# The package's public names, kept importable from `benchmark.leaderboard` as before the split.
from ..records import write_text_atomic
from .cli import (
    add_leaderboard_parser, add_parser, cmd_leaderboard_full, default_paths, mlflow_url, run_command, write_outputs,
)
from .csv_table import CSV_FIELDS, format_csv
from .grouping import (
    benchmark_key, benchmark_labels, display_names, group_records, payload_hash, record_target, seed_units, unit_value,
    variant_key,
)
from .markdown_table import (
    HEADERS, Section, _ranks, _sorted_rows, benchmark_sections, benchmarks, effective_sort, format_compute,
    format_markdown, format_paired, format_steps, format_tuning, table_cells, visible_columns,
)
from .metrics import AUTO, AUTO_BASELINES, BASELINE, LOWER_IS_BETTER, METRIC_ALIASES, METRICS, canonical_metric
from .rows import leaderboard_rows
from .terminal_table import format_terminal
from .statistics import (
    curve_avg_ppl, final_validation_avg_ppl, mean_ci, paired_difference, paired_values, steps_to_target,
    steps_to_target_summary, summary, validation_curve,
)

__all__ = [
    "add_leaderboard_parser", "add_parser", "AUTO", "AUTO_BASELINES", "BASELINE", "benchmark_key",
    "benchmark_labels", "benchmark_sections", "benchmarks", "canonical_metric", "cmd_leaderboard_full",
    "CSV_FIELDS", "curve_avg_ppl", "default_paths", "display_names", "effective_sort",
    "final_validation_avg_ppl", "format_compute", "format_csv", "format_markdown", "format_paired",
    "format_steps", "format_terminal", "format_tuning", "group_records", "HEADERS", "leaderboard_rows",
    "LOWER_IS_BETTER", "mean_ci", "METRIC_ALIASES", "METRICS", "mlflow_url", "paired_difference",
    "paired_values", "payload_hash", "record_target", "run_command", "Section", "seed_units", "steps_to_target",
    "steps_to_target_summary", "summary", "table_cells", "unit_value", "validation_curve", "variant_key",
    "visible_columns", "write_outputs", "write_text_atomic",
]
