"""The coordinator: runs (or resumes) a study until its budget of trials is done — in process or
on worker subprocesses — and fails the trials of workers that died on this host at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..paths import PACKAGE_DIR
from .accounting import account
from .common import load_optuna
from .mlflow_runs import ensure_parent_run
from .spec import SweepSpec
from .storage import make_storage, open_study
from .workers import worker


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_local_trials(study: Any) -> list[int]:
    """FAIL (and re-enqueue, through the storage's stale-trial callback) the RUNNING trials whose
    worker ran on this host and no longer exists — at once, without waiting for the heartbeat's
    grace period. Trials of other hosts are left to the heartbeat."""
    optuna = load_optuna()
    host, reaped = socket.gethostname(), []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        pid = trial.user_attrs.get("worker_pid")
        if trial.user_attrs.get("worker_host") != host or not isinstance(pid, int) or pid == os.getpid():
            continue
        if _pid_alive(pid):
            continue
        try:
            if not study._storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue          # finished or failed by another process meanwhile
        callback = getattr(study._storage, "get_heartbeat_stale_trial_callback", lambda: None)()
        if callback is not None:
            callback(study, study._storage.get_trial(trial._trial_id))
        reaped.append(trial.number)
    return reaped


def _shares(total: int, workers: int) -> list[int]:
    """`total` trials split as evenly as possible over at most `workers` workers."""
    workers = max(1, min(workers, total))
    return [total // workers + (1 if i < total % workers else 0) for i in range(workers)]


def _launch(spec: SweepSpec, shares: list[int], stream_base: int, threads: int) -> list[subprocess.Popen]:
    """Start one `python -m benchmark.sweep worker` per share, splitting the CPU threads between them."""
    procs = []
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    root = str(PACKAGE_DIR.parent)      # workers import this very checkout, whatever their folder
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for i, share in enumerate(shares):
        command = [sys.executable, "-m", "benchmark.sweep", "worker", "--storage", spec.storage, "--study", spec.study,
                   "--n-trials", str(share), "--workdir", str(Path(spec.output_dir) / "trials" / f"worker-{i}"),
                   "--stream", str(stream_base + i + 1), "--heartbeat-interval", str(spec.heartbeat_interval),
                   "--grace-period", str(spec.grace_period), "--threads", str(threads)]
        if not spec.track:
            command.append("--no-tracking")
        if spec.tracking_uri:
            command += ["--tracking-uri", spec.tracking_uri]
        procs.append(subprocess.Popen(command, env=env))
    return procs


def optimise(spec: SweepSpec, workers: int = 1, in_process: bool | None = None, log: Any = print) -> tuple[Any, bool]:
    """Run (or resume) the study until `spec.trials` trials are done. Returns (study, complete?)."""
    optuna = load_optuna()
    storage = make_storage(spec.storage, spec.heartbeat_interval, spec.grace_period)
    study = open_study(spec, storage)
    ensure_parent_run(study, spec)
    in_process = workers == 1 if in_process is None else in_process
    idle_rounds, died = 0, []
    while True:
        reaped = reap_dead_local_trials(study)
        if reaped:
            log(f"trial(s) {reaped} lost with a dead worker on this host: marked FAILED and re-enqueued")
        optuna.storages.fail_stale_trials(study)
        acc = account(study)
        if acc["done"] >= spec.trials and not acc["waiting"]:
            return study, True
        if died:
            log(f"a worker died ({'; '.join(map(str, died))}); {acc['done']}/{spec.trials} trials done — "
                "rerun the same command to resume the study")
            return study, False
        # Re-enqueued trials of dead workers are always run (they replace lost trials).
        remaining = max(spec.trials - acc["done"] - len(acc["running"]), len(acc["waiting"]))
        if remaining <= 0:
            # Trials still RUNNING with a fresh heartbeat: live workers elsewhere, or a killed one
            # whose heartbeat is not stale yet. Wait for them to finish or to go stale.
            log(f"waiting for {len(acc['running'])} running trial(s) {acc['running']} (heartbeat)")
            time.sleep(max(1, spec.heartbeat_interval))
            continue
        if idle_rounds >= 2:
            log(f"no progress in two rounds ({acc['done']}/{spec.trials} done); stopping")
            return study, False
        shares = _shares(remaining, workers)
        log(f"study {spec.study}: {acc['done']}/{spec.trials} done; running {sum(shares)} trial(s) on "
            f"{len(shares)} worker(s)")
        before = acc["done"]
        if in_process and len(shares) == 1:
            code = worker(spec.storage, spec.study, shares[0], Path(spec.output_dir) / "trials" / "worker-0",
                          acc["total"] + 1, spec.heartbeat_interval, spec.grace_period, spec.track, spec.tracking_uri)
            died += [] if code == 0 else [f"in-process worker: {_describe(code)}"]
        else:
            threads = max(1, (os.cpu_count() or 1) // len(shares))
            procs = _launch(spec, shares, acc["total"] * 10, threads)
            try:
                codes = [p.wait() for p in procs]
            except KeyboardInterrupt:
                for p in procs:
                    p.send_signal(signal.SIGINT)
                raise
            died += [f"worker {i}: {_describe(c)}" for i, c in enumerate(codes) if c != 0]
        idle_rounds = idle_rounds + 1 if account(study)["done"] == before else 0


def _describe(code: int) -> str:
    """A worker's exit status in words ("killed by SIGKILL")."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
