"""`python -m benchmark leaderboard`: read records, print the Markdown, write md / csv / html."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..cli_args import add_record_paths_argument, default_record_paths, read_records
from ..records import write_text_atomic
from .consistency import decision_consistency, format_consistency
from .csv_table import format_csv
from .equal_compute import format_equal_compute
from .markdown_table import format_markdown
from .metrics import AUTO, METRIC_ALIASES, METRICS
from .rows import leaderboard_rows
from .terminal_table import format_terminal

default_paths = default_record_paths     # the name tables and older callers import

HELP = "leaderboard of a results store (Markdown, CSV, HTML)"
DESCRIPTION = ("Aggregate result records per benchmark: mean ± 95%% CI over seeds, paired difference against the "
               "baseline, steps-to-target, worst-domain perplexity, downstream accuracy, overhead, extra compute and "
               "tuning. Prints Markdown; with --output-dir also writes leaderboard.md, leaderboard.csv and a "
               "self-contained leaderboard.html with plots.")


def add_leaderboard_parser(subparsers: Any) -> None:
    """The `leaderboard` subcommand and its options."""
    board = subparsers.add_parser("leaderboard", help=HELP, description=DESCRIPTION)
    add_record_paths_argument(board)
    board.add_argument("--sort-by", default="avg ppl",
                       choices=[c for c, _, _ in METRICS] + sorted(METRIC_ALIASES))
    board.add_argument("--baseline", default=AUTO,
                       help="method for paired differences and steps-to-target (default: auto = uniform, or "
                            "explore-only on FLAD benchmarks)")
    board.add_argument("--output-dir", type=Path, default=None, help="write leaderboard.{md,csv,html} here")
    board.add_argument("--format", default="md,csv,html",
                       help="comma-separated subset of md,csv,html written to --output-dir (default: all)")
    board.add_argument("--no-plots", action="store_true", help="HTML without the figures (faster)")
    board.add_argument("--equal-compute", action="store_true",
                       help="also compare at matched compute (printed, and appended to leaderboard.md): "
                            "FLOPs to target = cumulative FLOPs (all extra runs + step/steps of training and extra "
                            "passes) at the first evaluation whose validation avg ppl <= the baseline's final one; "
                            "metric at budget = each method's validation curve (avg ppl; FLAD: accuracy) linearly "
                            "interpolated at the smallest mean total FLOPs of the benchmark's methods "
                            "(docs/metrics.md, Compute)")
    board.add_argument("--consistency", action="store_true",
                       help="also print (and append to leaderboard.md) Kendall's tau between the method rankings of "
                            "every two benchmarks or budgets sharing at least 3 methods, with the pairs that flip")
    board.add_argument("--mlflow-url", default=None,
                       help="http(s) address of the MLflow server the runs were tracked on: the HTML links each "
                            "record with an mlflow_run_id to <url>/#/runs/<id> (default: $MLFLOW_TRACKING_URI "
                            "when it is http(s))")


def cmd_leaderboard_full(args: argparse.Namespace) -> int:
    """Print the leaderboard of the records under `args.paths`; write the files to --output-dir."""
    from ..config import ConfigError

    paths = args.paths or default_paths()
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ConfigError(f"paths: not found: {', '.join(missing)}")
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("md", "csv", "html")]
    if bad:
        raise ConfigError(f"--format: unknown format {bad[0]!r}; allowed: md, csv, html")
    records = read_records(paths, getattr(args, "strict", False))
    rows = leaderboard_rows(records, args.baseline)
    if not rows:
        print("no completed result records found")
        return 1
    print(format_terminal(rows, args.sort_by))     # the compact table; the files get the full one
    equal = format_equal_compute(rows) if getattr(args, "equal_compute", False) else ""
    if equal:
        print("\n" + equal)
    consistency = (format_consistency(decision_consistency(rows, args.sort_by))
                   if getattr(args, "consistency", False) else "")
    if consistency:
        print("\n" + consistency)
    appendix = (f"\n## At equal compute\n\n{equal}" if equal else "") + \
        (f"\n## Decision consistency\n\n{consistency}" if consistency else "")
    if args.output_dir:
        written = write_outputs(rows, records, args.output_dir, formats, args.sort_by, plots=not args.no_plots,
                                mlflow_url=mlflow_url(getattr(args, "mlflow_url", None)), appendix=appendix)
        for path in written:
            print(f"wrote {path}")
    return 0


def write_outputs(rows: list[dict[str, Any]], records: list[dict[str, Any]], output_dir: Path,
                  formats: list[str] = ("md", "csv", "html"), sort_by: str = "avg ppl", plots: bool = True,
                  mlflow_url: str | None = None, appendix: str = "") -> list[Path]:
    """leaderboard.md / .csv / .html (those in `formats`) in output_dir; returns the paths written. The HTML
    links each row to its records (paths relative to output_dir) and, with `mlflow_url`, to its MLflow runs.
    `appendix`: Markdown sections (with their headings) appended to leaderboard.md."""
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if "md" in formats:
        written.append(write_text_atomic(output_dir / "leaderboard.md",
                                         "# Leaderboard\n\n" + format_markdown(rows, sort_by)
                                         + appendix))
    if "csv" in formats:
        written.append(write_text_atomic(output_dir / "leaderboard.csv", format_csv(rows)))
    if "html" in formats:
        from ..report_html import render_html
        written.append(write_text_atomic(output_dir / "leaderboard.html",
                                         render_html(rows, records, sort_by, plots=plots, base_dir=output_dir,
                                                     mlflow_url=mlflow_url)))
    return written


def mlflow_url(explicit: str | None = None) -> str | None:
    """The MLflow server's web address: --mlflow-url, else $MLFLOW_TRACKING_URI when it is http(s) (records
    store only the run id; a sqlite or file store has no web address)."""
    from ..config import ConfigError

    url = explicit or os.environ.get("MLFLOW_TRACKING_URI") or ""
    if not url.startswith(("http://", "https://")):
        if explicit:
            raise ConfigError(f"--mlflow-url: expected an http(s) address, got {explicit!r}")
        return None
    return url.rstrip("/")


# The names the CLI dispatches on (same signature as the other command modules).
add_parser = add_leaderboard_parser
run_command = cmd_leaderboard_full
