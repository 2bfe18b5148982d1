"""`python -m benchmark tables`: read the results store, write the tables, print them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli_args import add_record_paths_argument, default_record_paths, read_records
from .build import build_tables
from .selection import completed_records


HELP = "regenerate ODM / FLAD paper tables (and the embedded ones) beside the published numbers"
DESCRIPTION = ("ODM Table 1 and its perplexity-vs-steps figure, FLAD's main and per-dataset tables, and the embedded "
               "benchmarks' tables, each cell published vs ours (or 'not run'), as Markdown, LaTeX and PNG.")


def add_parser(subparsers: Any) -> None:
    """The `tables` subcommand and its options."""
    tables = subparsers.add_parser("tables", help=HELP, description=DESCRIPTION)
    add_record_paths_argument(tables)
    tables.add_argument("--output-dir", type=Path, default=Path("paper_tables/generated"),
                        help="where to write (default: paper_tables/generated)")
    tables.add_argument("--no-png", action="store_true", help="skip PNG tables and figures")
    tables.add_argument("--odm-task", default=None,
                        help="ODM task whose runs fill ODM's table and figure (default: the pile-odm* task with most runs)")


def run_command(args: argparse.Namespace) -> int:
    """Regenerate every table from the records under `args.paths` (missing default paths are skipped)."""
    from ..config import ConfigError

    paths = args.paths or default_record_paths()
    existing = [p for p in paths if p.exists()]
    if args.paths and len(existing) != len(paths):
        raise ConfigError(f"paths: not found: {', '.join(str(p) for p in paths if not p.exists())}")
    records = read_records(existing, getattr(args, "strict", False))
    result = build_tables(records, args.output_dir, png=not args.no_png, odm=getattr(args, "odm_task", None))
    for table in result["tables"]:
        print(table.markdown())
    print(f"{len(completed_records(records))} completed record(s) read; wrote {len(result['files'])} files to "
          f"{args.output_dir}")
    return 0
