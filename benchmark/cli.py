"""`python -m benchmark ...` — run, list, prepare, leaderboard, tables, sweep, evaluate, track."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .cli_args import positive_int, seed_list
from .records import completed_record
from .config import ConfigError, load_recipe, load_task, recipe_names, resolve_config, task_names

DEFAULT_TASK = "embedded-pretrain"
DEFAULT_FLAD_TASK = "embedded-flad"
EXIT_BAD_INPUT = 2
EXIT_IN_PROGRESS = 75  # EX_TEMPFAIL: the same run is being trained by another process


def add_run_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run methods on a benchmark and print a leaderboard",
                         description="With no arguments: the embedded default comparisons — several methods "
                                     f"on {DEFAULT_TASK} (seed 0) and on {DEFAULT_FLAD_TASK} (split seed 42, "
                                     "the task's default targets).")
    run.add_argument("--task", default=None, help=f"benchmark task (default: {DEFAULT_TASK}): a name (see `list`) "
                     "or a path to a task YAML file")
    run.add_argument("--target", default=None,
                     help="FLAD tasks: a target, comma-separated targets, or 'all' (default: the task's "
                          "default_targets, else all). Pre-training tasks: a domain whose held-out split is the "
                          "target of gradient-reward methods (exp3-flad, ucb1-flad)")
    run.add_argument("--method", action="append", help="method recipe: a name or a path to a recipe YAML file "
                     "(repeat or comma-separate); default: the task's default comparison")
    run.add_argument("--seed", type=seed_list, default=None,
                     help="seed or comma-separated seeds (default: 0; FLAD tasks: the task's split seeds)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a field, e.g. training.steps=200 or method.alpha=0.5")
    run.add_argument("--quick", action="store_true", help="smoke-sized run (the task's `quick` budget)")
    run.add_argument("--output-dir", type=Path, default=Path("benchmark_runs"),
                     help="records, checkpoints and generated data (default: ./benchmark_runs)")
    run.add_argument("--tracking-uri", default=None,
                     help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    run.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    run.add_argument("--fresh", action="store_true", help="ignore existing checkpoints instead of resuming")
    run.add_argument("--wait", action="store_true",
                     help="if another process is running the same configuration, wait for it instead of exiting")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--devices", type=positive_int, default=1,
                     help="processes/GPUs; > 1 trains with Lightning DDP (every rank holds the same strategy state)")
    run.add_argument("--accelerator", default="cpu", choices=["cpu", "gpu", "auto"], help="default: cpu")
    run.add_argument("--num-nodes", type=positive_int, default=1, help="machines (torchrun / SLURM launch; see README)")
    run.add_argument("--parallel", default="ddp", choices=["ddp", "fsdp"],
                     help="data-parallel strategy when devices x nodes > 1 (fsdp shards GPT-NeoX layers)")
    run.add_argument("--workers", type=positive_int, default=1,
                     help="methods over runs (regmix, mixing-law): processes on this machine training the "
                          "swarm's proxy runs together (default: 1)")


def add_maintenance_parsers(sub: Any) -> None:
    """`evaluate` (re-evaluate a finished run) and `track` (log records to MLflow)."""
    evaluate = sub.add_parser("evaluate", help="evaluate a finished run again from its saved weights",
                              description="Reload a run's final weights and recompute its per-domain and "
                                          "downstream metrics (e.g. --tasks mmlu --num-fewshot 5).")
    evaluate.add_argument("record", type=Path, help="the run's result record (records/<run_id>.json)")
    evaluate.add_argument("--tasks", default=None, help="comma-separated lm-eval tasks (default: the task file's)")
    evaluate.add_argument("--num-fewshot", type=int, default=None)
    evaluate.add_argument("--device", default="cpu")

    track = sub.add_parser("track", help="log result records to MLflow (e.g. after the server was down)",
                           description="Log existing result records to MLflow.")
    track.add_argument("records", nargs="+", type=Path)
    track.add_argument("--tracking-uri", default=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmark",
                                     description="Reference benchmark suite for data-mixing methods.")
    sub = parser.add_subparsers(dest="command", required=True)

    add_run_parser(sub)
    listing = sub.add_parser("list", help="list tasks and methods", description="List benchmark tasks and method recipes.")
    listing.add_argument("--matrix", action="store_true",
                         help="the method × task matrix: where each method runs, and why not where it does not")

    from .data.pile import add_prepare_arguments

    prepare = sub.add_parser("prepare", help="tokenize a real benchmark's data once into token shards",
                             description="Prepare per-domain memory-mapped token shards (resumable, "
                                         "parallel over processes and machines).")
    prepare.add_argument("--task", required=True, help="a task whose data builder needs preparing, e.g. pile-odm")
    add_prepare_arguments(prepare)

    from . import sweep as sweep_cmd, tables as tables_cmd
    from .leaderboard import add_leaderboard_parser

    add_leaderboard_parser(sub)
    tables_cmd.add_parser(sub)
    sweep_cmd.add_parser(sub)
    from .replay.cli import add_parser as add_replay_parser

    add_replay_parser(sub)

    add_maintenance_parsers(sub)
    return parser


def cmd_list(matrix: bool = False) -> int:
    if matrix:
        from .capabilities.matrix import format_matrix
        print(format_matrix({n: load_recipe(n) for n in recipe_names()}, {n: load_task(n) for n in task_names()}))
        return 0
    print("Tasks:")
    for name in task_names():
        print(f"  {name:24s} {load_task(name).get('description', '').strip().splitlines()[0]}")
    print("Methods (recipes in baselines/):")
    for name in recipe_names():
        recipe = load_recipe(name)
        print(f"  {name:24s} [{recipe['strategy']}] {recipe.get('description', '').strip().splitlines()[0]}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from . import registry

    task = load_task(args.task)
    builder = task.get("data", {}).get("builder")
    if builder not in registry.names("data_preparers"):
        raise ConfigError(f"task: {args.task!r} generates its data at run time; nothing to prepare "
                          f"(prepare applies to tasks whose data.builder is one of "
                          f"{', '.join(registry.names('data_preparers'))})")
    return registry.resolve("data_preparers", builder)(vars(args), task["data"])


def cmd_run(args: argparse.Namespace) -> int:
    """One task, or with neither --task nor --method the default comparisons of both families."""
    defaults = args.task is None and not args.method
    tasks = [DEFAULT_TASK, DEFAULT_FLAD_TASK] if defaults else [args.task or DEFAULT_TASK]
    loaded = [(name, load_task(name)) for name in tasks]   # an unknown task fails before any run
    for name, task in loaded:
        status = run_task(args, name, task, defaults)
        if status:
            return status
    return 0


def run_configs(args: argparse.Namespace, name: str, task: dict, methods: list[str], defaults: bool) -> list[Any]:
    """The configurations a `run` command names: methods × seeds (× targets, on FLAD tasks)."""
    if task.get("family") == "flad":
        from .flad.runner import flad_configs
        seeds = args.seed or (task.get("seeds", [])[:1] if defaults else None)
        return flad_configs(name, methods, seeds, args.target, args.overrides, args.quick, args.output_dir)
    if args.target and "," in args.target:
        raise ConfigError(f"--target: a pre-training task takes one target domain, got {args.target!r}")
    return [resolve_config(name, m, s, args.overrides, args.quick, target=args.target)
            for m in methods for s in args.seed or [0]]


def run_task(args: argparse.Namespace, name: str, task: dict, defaults: bool) -> int:
    from .interrupts import STOP, Interrupted
    from .progress import RunClock
    from .records import ensure_writable
    from .run_lock import RunInProgress
    from .runner import RunFailed, prepare_run

    methods = [m for item in (args.method or task.get("default_methods", [])) for m in item.split(",") if m]
    if not methods:
        raise ConfigError("method: no method given and the task has no default_methods")
    ensure_writable(args.output_dir)
    # Validate every configuration before any training starts.
    prepared = [prepare_run(config, args.output_dir) for config in run_configs(args, name, task, methods, defaults)]
    results: list[tuple[dict, Path]] = []
    start, clock = time.perf_counter(), RunClock(len(prepared))
    STOP.install()
    try:
        for item in prepared:
            print(clock.header(f"{item.config.recipe['name']} seed {item.config.seed} on {name}"
                               + (f"/{item.target.name}" if item.config.family == "flad" else "")), flush=True)
            done = run_one_configuration(args, item)
            if done is not None:
                results.append(done)
    except RunFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RunInProgress as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_IN_PROGRESS
    except Interrupted as exc:
        print(exc.message(), file=sys.stderr, flush=True)
        return exc.exit_status
    finally:
        STOP.restore()
    if results:
        print_run_summary(args, results, time.perf_counter() - start)
    return 0


def run_one_configuration(args: argparse.Namespace, item: Any) -> tuple[dict, Path] | None:
    """Run (or find completed) one configuration under its run lock; None on a non-zero DDP rank."""
    from .run_lock import RunLock
    from .runner import execute

    runner = execute
    if item.config.recipe.get("pipeline"):   # e.g. DoReMi's reference → proxy → main (cached stages)
        from .registry import resolve
        runner = resolve("pipelines", item.config.recipe["pipeline"])
    extra = {}
    if args.workers > 1:    # only pipelines that train swarms take workers
        import inspect
        if "workers" not in inspect.signature(runner).parameters:
            raise ConfigError(f"--workers: method {item.config.recipe['name']!r} trains one run; "
                              "workers are for methods over runs (regmix, mixing-law)")
        extra["workers"] = args.workers
    with RunLock(args.output_dir / "runs" / item.config.run_id, item.config.run_id, wait=args.wait):
        if runner is execute and not args.fresh:
            done = completed_record(args.output_dir, item.config.run_id)
            if done is not None:
                print(f"    already completed: {done[1]} (--fresh to rerun)", flush=True)
                if not args.no_tracking and not done[0].get("mlflow_run_id"):
                    from .tracking import track_record
                    track_record(done[0], done[1], [], args.tracking_uri)
                return done
        record, path = runner(item, args.output_dir, progress=not args.no_progress, resume=not args.fresh,
                              track=not args.no_tracking, tracking_uri=args.tracking_uri,
                              devices=args.devices, accelerator=args.accelerator,
                              num_nodes=args.num_nodes, parallel=args.parallel, **extra)
    return None if record is None else (record, path)


def print_run_summary(args: argparse.Namespace, results: list[tuple[dict, Path]], seconds: float) -> None:
    from .leaderboard import format_terminal, leaderboard_rows
    from .tracking import tracking_uri, ui_hint

    records = [record for record, _ in results]
    print()
    if any("flad" in r for r in records):
        from .flad import flad_table, format_flad_table
        print(format_flad_table(flad_table(records)))
    else:
        print(format_terminal(leaderboard_rows(records)))
    print(f"{len(records)} run(s) in {seconds:.0f} s. Result records:")
    for record, path in results:
        mlflow = record.get("mlflow_run_id")
        print(f"  {path}  ({f'MLflow run {mlflow}' if mlflow else 'not tracked'})")
    if any(r.get("mlflow_run_id") for r in records):
        uri = tracking_uri(args.tracking_uri)
        print(f"MLflow store: {uri}  ({ui_hint(uri)})")


def cmd_track(args: argparse.Namespace) -> int:
    from .records import load_records
    from .tracking import track_record

    failures = 0
    for record in load_records(args.records):
        run_id = track_record(record, Path(record["_path"]), [], args.tracking_uri)
        print(f"{record['run_id']}: {'logged as ' + run_id if run_id else 'NOT logged'}")
        failures += run_id is None
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    from .offline import go_offline

    args = build_parser().parse_args(argv)
    if not (args.command == "prepare" and args.data_dir is None):
        go_offline()  # `prepare` without --data-dir streams the Pile from the hub
    try:
        if args.command == "list":
            return cmd_list(args.matrix)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "evaluate":
            from .reevaluate import reevaluate

            if not args.record.is_file():
                raise ConfigError(f"record: not found: {args.record}")
            record = reevaluate(args.record, args.tasks.split(",") if args.tasks else None,
                                args.num_fewshot, args.device)
            print(json.dumps({"final_test_avg_ppl": record["final"]["test"]["avg_ppl"],
                              "downstream": {k: v.get("acc") for k, v in record["downstream"].items()}}))
            return 0
        if args.command == "prepare":
            return cmd_prepare(args)
        if args.command == "leaderboard":
            from .leaderboard import cmd_leaderboard_full
            return cmd_leaderboard_full(args)
        if args.command == "tables":
            from .tables import run_command
            return run_command(args)
        if args.command == "sweep":
            from .sweep import run_command
            return run_command(args)
        if args.command == "replay":
            from .replay.cli import run_command as run_replay_command
            return run_replay_command(args)
        return cmd_track(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
