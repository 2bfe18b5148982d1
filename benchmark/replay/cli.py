"""`python -m benchmark replay`: score mixture predictors on published proxy-run logs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .registry import BUILTIN_PREDICTORS

HELP = "score offline mixture predictors on real published logs (RegMix's 1M/60M/1B runs)"
DESCRIPTION = ("Fit each predictor on the training runs' target loss (RegMix: 512 runs of 1M-parameter models) and "
               "score how it ranks unseen test mixtures at every measured scale: Spearman ρ with a bootstrap 95% CI, "
               "top-1 regret and top-5 hit rate. See docs/replay.md.")
PAPER_METHODS = ["ridge", "lightgbm", "lightgbm-notebook"]


def method_list(text: str) -> list[str]:
    methods = [m.strip() for m in text.split(",") if m.strip()]
    if not methods:
        raise argparse.ArgumentTypeError("give at least one method")
    return methods


def add_parser(subparsers: Any) -> None:
    """The `replay` subcommand and its options."""
    replay = subparsers.add_parser("replay", help=HELP, description=DESCRIPTION)
    replay.add_argument("--methods", type=method_list, default=list(BUILTIN_PREDICTORS),
                        help=f"comma-separated predictors: {', '.join(BUILTIN_PREDICTORS)}, a 'package.module:Class' "
                             "or an entry point of group benchmark.replay_predictors (default: all built-ins)")
    replay.add_argument("--data", type=Path, default=None,
                        help="directory with train_/test_ mixture and pile_loss CSVs (default: RegMix's shipped logs)")
    replay.add_argument("--target", default="Pile-CC",
                        help="validation-loss domain to predict, e.g. Pile-CC or github (default: Pile-CC)")
    replay.add_argument("--output-dir", type=Path, default=None,
                        help="also write replay_scores.md/.csv (and with --paper-table the RegMix table) here")
    replay.add_argument("--seed", type=int, default=0, help="seed for CV folds, hold-out split, restarts, bootstrap")
    replay.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the ρ CI (default 1000)")
    replay.add_argument("--paper-table", action="store_true",
                        help="also write RegMix's rank-correlation table (published vs ours) and a 1B scatter plot; "
                             "adds ridge, lightgbm, lightgbm-notebook; default output dir paper_tables/generated")


def run_command(args: argparse.Namespace) -> int:
    """Run the replay, print the table, write the files asked for."""
    from .data import ReplayDataError, load_replay_data, normalise_domain
    from .report import text_table, write_scores
    from .runner import run_replay

    methods = list(args.methods)
    if args.paper_table and normalise_domain(args.target) != "pile_cc":
        raise ReplayDataError("--paper-table: RegMix's published numbers are for --target Pile-CC only")
    if args.paper_table:
        methods += [m for m in PAPER_METHODS if m not in methods]
    data = load_replay_data(args.data)
    results = run_replay(data, methods, target=args.target, seed=args.seed, resamples=args.resamples)
    title = (f"Replay on {data.source.name}: target {args.target}, "
             f"fitted on {len(data.train.mixtures)} {data.train.name} runs")
    print(title)
    print(text_table(results))
    output_dir = args.output_dir or (Path("paper_tables/generated") if args.paper_table else None)
    if output_dir is None:
        return 0
    files = write_scores(results, output_dir, title)
    if args.paper_table:
        from ..tables.replay import write_regmix_replay

        table, paper_files = write_regmix_replay(results, output_dir)
        print()
        print(table.markdown())
        files += paper_files
    print(f"wrote {len(files)} file(s) to {output_dir}")
    return 0
