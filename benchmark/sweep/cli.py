"""`python -m benchmark sweep` (and stand-alone `python -m benchmark.sweep [worker]`): options and dispatch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..cli_args import positive_int, seed_list
from .common import DEFAULT_TASK, config_error
from .driver import run_equal_budget, run_sweep
from .spec import build_spec
from .workers import worker_main


def configure_parser(sweep: argparse.ArgumentParser) -> None:
    """The sweep command's options (shared by `python -m benchmark sweep` and `python -m benchmark.sweep`)."""
    sweep.add_argument("--task", default=DEFAULT_TASK, help=f"benchmark task (default: {DEFAULT_TASK})")
    sweep.add_argument("--method", help="method recipe with a search_space (see `list`)")
    sweep.add_argument("--trials", type=positive_int, required=True,
                       help="trials of the study in total (a resumed study runs only the missing ones)")
    sweep.add_argument("--storage", default=None, help="Optuna storage URL (default: sqlite:///<output-dir>/optuna.db)")
    sweep.add_argument("--study", default=None, help="study name (default: sweep-<task>-<method>[-quick])")
    sweep.add_argument("--workers", type=positive_int, default=1,
                       help="worker processes sharing the study (default: 1)")
    sweep.add_argument("--seed", type=int, default=None,
                       help="training seed of every trial; on FLAD tasks also the few-shot split seed "
                            "(default: 0; FLAD: the task's first split seed)")
    sweep.add_argument("--target", default=None,
                       help="FLAD tasks: the one target the study tunes for (default: the task's default_targets[0])")
    sweep.add_argument("--final-seeds", type=seed_list, default=None,
                       help="seeds of the final run(s) of the best configuration (default: --seed)")
    sweep.add_argument("--equal-budget", default=None, metavar="M1,M2,...",
                       help="tune every listed method with the same --trials (one study each)")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a task field for every trial, e.g. training.steps=200")
    sweep.add_argument("--quick", action="store_true", help="the task's quick budget for every trial")
    sweep.add_argument("--objective", default=None,
                       help="pre-training: avg_ppl (default) or mean_excess_loss (tasks with known loss floors); "
                            "FLAD: acc")
    sweep.add_argument("--pruner", default="median", choices=["median", "hyperband", "none"])
    sweep.add_argument("--trial-downstream", action="store_true",
                       help="also run the downstream (lm-eval) evaluation in every trial (default: final run only)")
    sweep.add_argument("--output-dir", type=Path, default=None, help="default: sweeps/<study>")
    sweep.add_argument("--install-recipe", action="store_true",
                       help="copy recipes/<method>-tuned.yaml into baselines/")
    sweep.add_argument("--tracking-uri", default=None,
                       help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    sweep.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    sweep.add_argument("--heartbeat-interval", type=positive_int, default=10,
                       help="seconds between a running trial's heartbeats (default: 10)")
    sweep.add_argument("--grace-period", type=positive_int, default=30,
                       help="seconds without heartbeat after which a trial counts as dead (default: 30)")


HELP = "tune a method's hyperparameters with Optuna (validation objective, pruning, workers)"
DESCRIPTION = ("An Optuna study over the recipe's search_space: objective = final validation average perplexity "
               "(pre-training, minimised; or --objective mean_excess_loss) or best few-shot validation accuracy on one --target (FLAD, maximised); "
               "step-level pruning on that validation metric; resumable sqlite/RDB storage shared by --workers "
               "processes; MLflow parent/child runs; writes <output>/recipes/<method>-tuned.yaml and runs the best "
               "configuration (record['tuning']).")


def add_parser(subparsers: Any) -> None:
    configure_parser(subparsers.add_parser("sweep", help=HELP, description=DESCRIPTION))


def run_command(args: argparse.Namespace) -> int:
    """Run the sweep the options describe (one method, or several with --equal-budget); exit status."""
    from ..offline import go_offline

    go_offline()
    if args.equal_budget:
        methods = [m for m in args.equal_budget.split(",") if m.strip()]
        if args.method and args.method not in methods:
            methods.insert(0, args.method)
        return run_equal_budget(args, methods)
    if not args.method:
        raise config_error("--method: required (or --equal-budget M1,M2,...)")
    spec = build_spec(args, args.method)
    code, _ = run_sweep(spec, args.workers, args.install_recipe)
    return code


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmark.sweep ...` — the sweep command stand-alone, and the hidden worker mode."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "worker":
        return worker_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmark.sweep", description=add_parser.__doc__)
    configure_parser(parser)
    args = parser.parse_args(argv)
    from ..config import ConfigError
    try:
        return run_command(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
