"""A swarm of proxy runs as an Optuna study: fixed mixtures enqueued, any number of workers.

The coordinator creates (or finds) a study whose every trial is one enqueued mixture (params
`swarm_index` and `w/<domain>`); workers pop WAITING trials (`study.ask()` returns the enqueued
ones first), train the mixture as an ordinary `fixed` run through `prepare_run`/`execute`, and
store the record's summary in the trial's user attributes. The sweep's machinery keeps it honest:
RDB storage with heartbeats (`sweep.storage.make_storage`), the sqlite `ask` lock, and the reaper of
trials whose local worker died (`sweep.coordinator.reap_dead_local_trials`); a lost mixture is
enqueued again until it completes (at most MAX_RETRY failures of the run itself).

Extra workers, on this or another machine (same storage URL, same study name):
    python -m benchmark.pipelines.swarm --storage postgresql://user:pw@host/db --study swarm-...
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..sweep.common import MAX_RETRY, load_optuna
from ..sweep.coordinator import reap_dead_local_trials
from ..sweep.storage import ask_lock, make_storage
from ..sweep.workers import _heartbeat

SPEC_ATTR = "swarm_spec"
STORAGE_ENV = "BENCHMARK_SWARM_STORAGE"
HEARTBEAT, GRACE = 10, 30


def default_storage(stage_dir: Path) -> str:
    """$BENCHMARK_SWARM_STORAGE, else sqlite beside the proxy records (absolute: workers run anywhere)."""
    return os.environ.get(STORAGE_ENV) or f"sqlite:///{(stage_dir / 'swarms.db').resolve()}"


def study_name(spec: dict[str, Any]) -> str:
    """Named by what the swarm trains (proxy config and mixtures): equal swarms are shared."""
    payload = {k: spec[k] for k in ("task_name", "task", "quick", "seed", "mixtures")}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
    return f"swarm-{spec['task_name']}-{digest}"


def proxy_config(spec: dict[str, Any], index: int) -> Any:
    """The ordinary run configuration of mixture `index`: the proxy task, a `fixed` strategy."""
    from ..config import RunConfig

    weights = dict(zip(spec["domains"], spec["mixtures"][index]))
    recipe = {"name": "swarm", "strategy": "fixed", "hyperparameters": {"weights": weights, "normalize": True},
              "description": "proxy run of a swarm (methods over runs: RegMix, mixing laws)"}
    return RunConfig(spec["task_name"], spec["task"], recipe, spec["seed"], spec["quick"])


def open_swarm(spec: dict[str, Any], storage_url: str) -> Any:
    """Create the study and enqueue every mixture once; an existing study is reused as it is."""
    optuna = load_optuna()
    storage = make_storage(storage_url, HEARTBEAT, GRACE)
    name = study_name(spec)
    with ask_lock(storage_url):
        study = optuna.create_study(study_name=name, storage=storage, direction="minimize", load_if_exists=True)
        if SPEC_ATTR not in study.user_attrs:
            study.set_user_attr(SPEC_ATTR, spec)
            for index in range(len(spec["mixtures"])):
                enqueue(study, spec, index)
    return study


def enqueue(study: Any, spec: dict[str, Any], index: int) -> None:
    params = {"swarm_index": index, **{f"w/{d}": float(w) for d, w in zip(spec["domains"], spec["mixtures"][index])}}
    study.enqueue_trial(params, user_attrs={"swarm_index": index})


def _fixed_params(trial: Any, spec: dict[str, Any]) -> int:
    """The enqueued mixture's index (suggest returns the enqueued values and records them as params)."""
    for d in spec["domains"]:
        trial.suggest_float(f"w/{d}", 0.0, 1.0)
    return trial.suggest_int("swarm_index", 0, len(spec["mixtures"]) - 1)


def _record_of(prepared: Any, out: Path) -> dict[str, Any] | None:
    path = out / "records" / f"{prepared.config.run_id}.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("status") == "completed" else None


def train_proxy(spec: dict[str, Any], index: int, out: Path) -> tuple[dict[str, Any], bool]:
    """(record, trained now?) of mixture `index`; a completed record with the same run id is reused."""
    from ..runner import execute, prepare_run

    prepared = prepare_run(proxy_config(spec, index), out)
    record = _record_of(prepared, out)
    if record is not None:
        return record, False
    record, _ = execute(prepared, out, progress=False, track=False, accelerator=spec.get("accelerator", "cpu"),
                        annotate={"pipeline_stage": "swarm", "swarm": {"index": index, "study": study_name(spec)}})
    # a finished proxy never resumes: free the disk (its model directory stays)
    shutil.rmtree(out / "runs" / prepared.config.run_id / "checkpoints", ignore_errors=True)
    return record, True


def _summary(record: dict[str, Any], spec: dict[str, Any], trained: bool) -> dict[str, Any]:
    from ..compute import extra_run

    validation = record["final"]["validation"]
    return {"run_id": record["run_id"], "trained": trained,
            "losses": [float(validation[f"loss/{d}"]) for d in spec["domains"]],
            "extra_run": extra_run(record, "swarm")}


def _ask(study: Any, storage_url: str) -> Any | None:
    """The next enqueued trial, or None when none waits (never a freshly sampled one)."""
    optuna = load_optuna()
    with ask_lock(storage_url):
        optuna.storages.fail_stale_trials(study)
        if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
            return None
        trial = study.ask()
        trial.set_user_attr("worker_pid", os.getpid())      # for the reaper of dead local workers
        trial.set_user_attr("worker_host", socket.gethostname())
    return trial


def run_one(study: Any, trial: Any, spec: dict[str, Any], out: Path) -> None:
    """Train one trial's mixture and tell the study; a run's own error is kept in `error`."""
    optuna = load_optuna()
    if "swarm_index" not in trial.user_attrs:      # a server database raced us to the queue: not enqueued
        trial.set_user_attr("error", "not an enqueued swarm mixture")
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return
    with _heartbeat(trial, study._storage):
        try:
            index = _fixed_params(trial, spec)
            record, trained = train_proxy(spec, index, out)
            summary = _summary(record, spec, trained)
        except Exception as exc:  # noqa: BLE001 — recorded; the coordinator retries the mixture
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        except BaseException:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)   # interrupted: lost, enqueued again
            raise
        for key, value in summary.items():
            trial.set_user_attr(key, value)
        study.tell(trial, float(np.mean(summary["losses"])))


def swarm_worker(storage_url: str, name: str, output_dir: Path | None = None, log: Any = print) -> int:
    """Run enqueued mixtures of study `name` until none waits; records go to `output_dir`
    (default: the coordinator's proxy folder, stored in the study)."""
    optuna = load_optuna()
    study = optuna.load_study(study_name=name, storage=make_storage(storage_url, HEARTBEAT, GRACE))
    spec = study.user_attrs[SPEC_ATTR]
    out = Path(output_dir or spec["stage_dir"])
    while (trial := _ask(study, storage_url)) is not None:
        log(f"swarm {name}: trial {trial.number} on {socket.gethostname()}:{os.getpid()}")
        run_one(study, trial, spec, out)
        gc.collect()
    return 0


# ---- coordinator ---------------------------------------------------------------------------------
def swarm_state(study: Any, size: int) -> dict[str, Any]:
    """Per mixture index: its completed trial, how often its run failed, whether it is queued/running."""
    complete: dict[int, Any] = {}
    errors = {i: 0 for i in range(size)}
    pending: set[int] = set()
    for t in study.get_trials(deepcopy=False):
        index = t.user_attrs.get("swarm_index")
        if index is None:
            continue
        if t.state.name == "COMPLETE":
            complete.setdefault(index, t)
        elif t.state.name in ("WAITING", "RUNNING"):
            pending.add(index)
        elif t.state.name == "FAIL" and "error" in t.user_attrs:
            errors[index] += 1
    missing = [i for i in range(size) if i not in complete]
    return {"complete": complete, "errors": errors, "pending": pending, "missing": missing}


def _requeue(study: Any, spec: dict[str, Any], state: dict[str, Any]) -> None:
    """Enqueue again every missing mixture nobody holds (lost with a worker, or failed by its run)."""
    for index in state["missing"]:
        if index in state["pending"]:
            continue
        if state["errors"][index] >= MAX_RETRY:
            raise RuntimeError(f"swarm {study.study_name}: mixture {index} failed {MAX_RETRY} times; see the "
                               "trials' `error` attribute and failed/ under the proxy folder")
        enqueue(study, spec, index)


def launch_workers(storage_url: str, name: str, count: int) -> list[subprocess.Popen]:
    """`count` extra worker processes on this machine, sharing the CPU threads."""
    from ..paths import PACKAGE_DIR

    threads = str(max(1, (os.cpu_count() or 1) // (count + 1)))
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    root = str(PACKAGE_DIR.parent)        # the workers import this very checkout
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    command = [sys.executable, "-m", "benchmark.pipelines.swarm", "--storage", storage_url, "--study", name]
    return [subprocess.Popen(command, env=env) for _ in range(count)]


def _work(study: Any, storage_url: str, workers: int, log: Any) -> None:
    """This process and `workers − 1` others drain the queue together."""
    procs = launch_workers(storage_url, study.study_name, workers - 1) if workers > 1 else []
    try:
        swarm_worker(storage_url, study.study_name, log=log)
    finally:
        for proc in procs:
            if proc.wait() != 0:
                log(f"swarm worker pid {proc.pid} exited with status {proc.returncode}; its trial is re-enqueued")


def run_swarm(spec: dict[str, Any], storage_url: str, workers: int = 1, log: Any = print) -> list[dict[str, Any]]:
    """Train every mixture of the swarm (reusing finished trials); one summary per mixture, in order."""
    optuna = load_optuna()
    study = open_swarm(spec, storage_url)
    size = len(spec["mixtures"])
    before = set(swarm_state(study, size)["complete"])
    while True:
        reaped = reap_dead_local_trials(study)
        if reaped:
            log(f"swarm {study.study_name}: trial(s) {reaped} lost with a dead worker: re-enqueued")
        optuna.storages.fail_stale_trials(study)
        state = swarm_state(study, size)
        if not state["missing"]:
            break
        _requeue(study, spec, state)
        if study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
            _work(study, storage_url, workers, log)
        else:       # only trials running elsewhere: wait for them (or for their heartbeat to go stale)
            time.sleep(HEARTBEAT)
    return [{"index": i, "mixture": spec["mixtures"][i], "reused": i in before,
             **{k: v for k, v in state["complete"][i].user_attrs.items() if k not in ("worker_pid", "worker_host")}}
            for i in range(size)]


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmark.pipelines.swarm --storage URL --study NAME [--output-dir DIR]`: one worker."""
    parser = argparse.ArgumentParser(prog="python -m benchmark.pipelines.swarm",
                                     description="Join a swarm study as one more worker.")
    parser.add_argument("--storage", default=os.environ.get(STORAGE_ENV), required=STORAGE_ENV not in os.environ)
    parser.add_argument("--study", required=True, help="the swarm's study name (printed by the pipeline)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where this worker writes proxy records (default: the coordinator's folder)")
    args = parser.parse_args(argv)
    from ..offline import go_offline

    go_offline()
    return swarm_worker(args.storage, args.study, args.output_dir)


if __name__ == "__main__":
    sys.exit(main())
