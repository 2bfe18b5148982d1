"""A worker process: ask → train → tell on the shared study, with the storage heartbeat."""

from __future__ import annotations

import argparse
import contextlib
import gc
from pathlib import Path
from typing import Any

from .accounting import account
from .common import load_optuna
from .mlflow_runs import parent_run_id
from .storage import ask_lock, load_spec, make_pruner, make_sampler, make_storage
from .trial_run import run_trial


def _heartbeat(trial: Any, storage: Any) -> Any:
    """The storage's heartbeat thread for a trial we run ourselves (Study.optimize would start it)."""
    try:
        from optuna.storages._heartbeat import get_heartbeat_thread
    except ImportError:       # pragma: no cover — a future Optuna without it: no heartbeat
        return contextlib.nullcontext()
    return get_heartbeat_thread(trial._trial_id, storage)


def worker(storage_url: str, study_name: str, n_trials: int, workdir: Path, stream: int,
           heartbeat_interval: int, grace_period: int, track: bool, tracking_uri: str | None,
           log: Any = print) -> int:
    """One worker: up to `n_trials` trials of the shared study (ask → train → tell), stopping as
    soon as the study has its budget of finished trials."""
    optuna = load_optuna()

    storage = make_storage(storage_url, heartbeat_interval, grace_period)
    study = optuna.load_study(study_name=study_name, storage=storage)
    spec = load_spec(study, study=study_name, track=track, tracking_uri=tracking_uri)
    study = optuna.load_study(study_name=study_name, storage=storage,
                              sampler=make_sampler(spec["seed"], stream), pruner=make_pruner(spec["pruner"]))
    parent = parent_run_id(study, track)
    target = int(spec["trials"])
    for _ in range(n_trials):
        with ask_lock(storage_url):
            optuna.storages.fail_stale_trials(study)
            if account(study)["done"] + len(account(study)["running"]) >= target and not account(study)["waiting"]:
                break
            trial = study.ask()
        state, value = optuna.trial.TrialState.FAIL, None
        with _heartbeat(trial, storage):
            try:
                value = run_trial(trial, spec, workdir, parent)
                state = optuna.trial.TrialState.COMPLETE
            except optuna.TrialPruned:
                state = optuna.trial.TrialState.PRUNED
            except KeyboardInterrupt:
                _tell(study, trial, optuna.trial.TrialState.FAIL, None, log)
                raise
            except Exception as exc:  # noqa: BLE001 — the run's own failure: recorded, the sweep goes on
                log(f"trial {trial.number} failed: {type(exc).__name__}: {exc}")
        _tell(study, trial, state, value, log)
        gc.collect()
    return 0


def worker_main(argv: list[str]) -> int:
    """`python -m benchmark.sweep worker ...`: the command line of the processes `optimise` launches."""
    parser = argparse.ArgumentParser(prog="python -m benchmark.sweep worker")
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", required=True)
    parser.add_argument("--n-trials", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--stream", type=int, default=1)
    parser.add_argument("--heartbeat-interval", type=int, default=10)
    parser.add_argument("--grace-period", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--no-tracking", action="store_true")
    args = parser.parse_args(argv)
    from ..offline import go_offline

    go_offline()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    return worker(args.storage, args.study, args.n_trials, args.workdir, args.stream, args.heartbeat_interval,
                  args.grace_period, not args.no_tracking, args.tracking_uri)


def _tell(study: Any, trial: Any, state: Any, value: float | None, log: Any) -> None:
    """Store a trial's outcome; one already failed as stale by another process is only reported."""
    try:
        if state.name == "COMPLETE":
            study.tell(trial, value)
        else:
            study.tell(trial, state=state)
    except Exception as exc:  # noqa: BLE001 — e.g. failed meanwhile as stale by another process
        log(f"trial {trial.number}: result not stored ({type(exc).__name__}: {exc})")
