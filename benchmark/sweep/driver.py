"""Whole sweeps: one study from trials to final run, or several methods at an equal budget."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .accounting import account, all_accounted
from .coordinator import optimise
from .family import run_config, task_family
from .final_run import finish
from .mlflow_runs import fail_parent_run
from .spec import SweepSpec, build_spec, study_seed, study_target


def run_sweep(spec: SweepSpec, workers: int = 1, install: bool = False, log: Any = print) -> tuple[int, dict[str, Any]]:
    """Optimise (or resume) the study, then finish it; (exit status, summary). A sweep that fails
    (or is interrupted) ends its MLflow parent run FAILED."""
    study = None
    try:
        study, complete = optimise(spec, workers, log=log)
        code, summary = _conclude(spec, study, complete, install, log)
    except BaseException:
        fail_parent_run(spec, study, log)
        raise
    if code != 0:
        fail_parent_run(spec, study, log)
    return code, summary


def _conclude(spec: SweepSpec, study: Any, complete: bool, install: bool, log: Any) -> tuple[int, dict[str, Any]]:
    acc = account(study)
    ok, why = all_accounted(study, spec.trials)
    log(f"study {spec.study}: {acc['done']} done ({len(acc['complete'])} complete, {len(acc['pruned'])} pruned, "
        f"{len(acc['failed_by_run'])} failed), {len(acc['failed_stale'])} lost to dead workers and retried; "
        f"accounting: {why}")
    if not complete:
        return 1, {"accounting": acc}
    summary = finish(spec, study, install, log)
    if "error" in summary:
        log(f"error: {summary['error']}")
        return 1, summary
    log(f"best {spec.objective.name} ({spec.objective.direction}d): {summary['best_value']:.4g} with "
        f"{summary['best_params']} (trial {summary['best_trial']})")
    log(f"tuned recipe: {summary['recipe']}; final record(s): {', '.join(summary['final_records'])}")
    return 0, summary


def run_equal_budget(args: argparse.Namespace, methods: list[str]) -> int:
    """Tune every method with the same number of trials, then compare the tuned runs. A method
    without a search_space (e.g. uniform) has nothing to tune: it runs as published, same seeds."""
    from ..config import ConfigError, load_recipe
    from ..leaderboard import format_markdown, leaderboard_rows
    from ..records import load_records, write_text_atomic
    from ..runner import execute, prepare_run

    family = task_family(args.task)
    seed, target = study_seed(args, family), study_target(args, family)
    specs, untuned = [], []
    for method in methods:                       # validate everything before any training
        if not load_recipe(method).get("search_space"):
            run_config(family, args.task, method, seed, args.overrides, args.quick, target)
            untuned.append(method)
            continue
        specs.append(build_spec(args, method, equal_budget=True))
    codes, paths = [], []
    for spec in specs:
        print(f"== {spec.method}: {spec.trials} trials (study {spec.study})", flush=True)
        try:
            code, summary = run_sweep(spec, args.workers, args.install_recipe)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            code, summary = 2, {}
        codes.append(code)
        paths += [Path(p) for p in summary.get("final_records", [])]
    root = args.output_dir or Path("sweeps")
    for method in untuned:
        print(f"== {method}: no search_space — run as published (0 trials)", flush=True)
        for final_seed in args.final_seeds or [seed]:
            config = run_config(family, args.task, method, final_seed, args.overrides, args.quick, target)
            record, path = execute(prepare_run(config, root / "untuned"), root / "untuned", progress=False,
                                   track=not args.no_tracking, tracking_uri=args.tracking_uri)
            paths.append(path)
    if paths:
        if family == "flad":
            from ..flad.report import flad_table, format_flad_table
            markdown = format_flad_table(flad_table(load_records(paths)))
        else:
            markdown = format_markdown(leaderboard_rows(load_records(paths)))
        print(f"\nEqual budget: {args.trials} trials per tunable method\n")
        print(markdown)
        write_text_atomic(root / "equal_budget.md", f"# Equal-budget comparison ({args.trials} trials per tunable "
                          f"method; untuned: {', '.join(untuned) or 'none'})\n\n" + markdown)
    return max(codes) if codes else 0
