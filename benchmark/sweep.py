"""Hyperparameter sweeps with Optuna over a recipe's `search_space`.

    python -m benchmark sweep --task embedded-pretrain --method odm-code --trials 20 \
        [--storage sqlite:///optuna.db] [--study NAME] [--workers 2] [--seed 0] [--set KEY=VALUE ...]
    python -m benchmark sweep --equal-budget uniform,odm-code,exp3 --trials 20      # same budget for all

What happens:
- one Optuna study (minimise) in an RDB storage — sqlite by default (`<output>/optuna.db`), or
  any SQLAlchemy database URL (PostgreSQL/MySQL) for workers on several machines. The study keeps
  its sweep configuration (task, method, overrides, seed, search space) as a user attribute: a
  rerun of the same command RESUMES it (`load_if_exists`), a different configuration under the
  same name is refused;
- every trial is a real training run (runner.execute) with the sampled hyperparameters; the
  objective is the final VALIDATION average perplexity (`final.validation.avg_ppl`; the test split
  is never read); trials skip the downstream (lm-eval) evaluation unless `--trial-downstream`;
- pruning at the global step (benchmark.pruning.StepPruningCallback) with a MedianPruner by
  default;
- `--workers K` launches K worker processes (`python -m benchmark.sweep worker ...`), each running
  its share of the trials (ask → train → tell, with the storage heartbeat; on sqlite, `ask` is
  serialised by a file lock because SQLite ignores row locks and two workers could pop the same
  re-enqueued trial). Storage heartbeats (`--heartbeat-interval`, `--grace-period`) let any
  process mark the trials of a killed worker FAILED — on the coordinator's own host at once, by
  seeing the worker's process gone — and RetryHeartbeatStaleTrialCallback re-enqueues them with the
  same parameters (up to 3 times). A sweep is done when `--trials` trials are finished (COMPLETE,
  PRUNED, or FAILED by the run itself) and no re-enqueued trial waits; if a worker dies before
  that, the command exits 1 and the same command resumes the study. Several machines: point them
  at one server database (`--storage postgresql://...`) with the same --study;
- only pre-training tasks (family pretrain: embedded-pretrain, pile-odm*) — the objective is the
  runner's validation perplexity; FLAD tasks are refused with a message;
- MLflow: one parent run per study (its id is kept in the study), one child run per trial
  (`mlflow.parentRunId`), the final run(s) too; tracking URI as for `run`;
- outputs in `--output-dir` (default `sweeps/<study>`): `recipes/<method>-tuned.yaml` (installed
  into baselines/ with `--install-recipe`), `history.png`, `importance.png`, `summary.json`, and
  the final run(s) of the best configuration in `records/`, whose record carries
  `tuning = {"tuned": true, "trials": N, "study": name, "objective": "validation avg ppl"}` and
  every trial's compute in `compute.extra_runs` (kind "sweep-trial").
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

DEFAULT_TASK = "embedded-pretrain"
OBJECTIVE = "validation avg ppl"
TRIAL_KIND = "sweep-trial"
SPEC_ATTR = "sweep_spec"
PARENT_ATTR = "mlflow_parent_run_id"
MAX_RETRY = 3          # a trial lost with its worker is retried this many times, then given up
RESUME_FIELDS = ("task", "method", "overrides", "quick", "seed", "search_space", "trial_downstream")


def _optuna() -> Any:
    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    # Our workers run ask → train → tell with the heartbeat thread themselves (see `worker`).
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _config_error(message: str) -> Exception:
    from .config import ConfigError
    return ConfigError(message)


# ----------------------------------------------------------------------------------------------
# Sweep specification and search space
# ----------------------------------------------------------------------------------------------
@dataclass
class SweepSpec:
    task: str
    method: str
    trials: int
    study: str
    storage: str
    output_dir: str
    overrides: list[str] = field(default_factory=list)
    quick: bool = False
    seed: int = 0
    final_seeds: list[int] = field(default_factory=list)
    pruner: str = "median"
    search_space: dict[str, Any] = field(default_factory=dict)
    trial_downstream: bool = False
    heartbeat_interval: int = 10
    grace_period: int = 30
    track: bool = True
    tracking_uri: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def search_space_of(method: str) -> dict[str, Any]:
    """The recipe's search_space, validated (names, types, bounds)."""
    from .config import load_recipe, recipe_names
    from .strategies import get_strategy_class

    recipe = load_recipe(method)
    space = recipe.get("search_space") or {}
    if not isinstance(space, dict) or not space:
        with_space = [n for n in recipe_names() if load_recipe(n).get("search_space")]
        raise _config_error(f"method: recipe {method!r} has no search_space to tune; recipes with one: "
                            f"{', '.join(with_space)}")
    fields = {f.name for f in dataclasses.fields(get_strategy_class(recipe["strategy"]))}
    for name, spec in space.items():
        where = f"baselines/{method}.yaml search_space.{name}"
        if name not in fields:
            raise _config_error(f"{where}: not a hyperparameter of strategy {recipe['strategy']}; allowed: "
                                f"{', '.join(sorted(fields - {'domains', 'sizes', 'seed', 'history'}))}")
        if not isinstance(spec, dict) or spec.get("type") not in ("float", "int", "categorical"):
            raise _config_error(f"{where}.type: must be one of float, int, categorical")
        if spec["type"] == "categorical":
            if not isinstance(spec.get("choices"), list) or not spec["choices"]:
                raise _config_error(f"{where}.choices: must be a non-empty list")
            continue
        low, high = spec.get("low"), spec.get("high")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or not low < high:
            raise _config_error(f"{where}: needs numbers low < high, got low={low!r}, high={high!r}")
        if spec.get("log") and low <= 0:
            raise _config_error(f"{where}.low: must be > 0 with log: true, got {low!r}")
    return space


def distributions(space: dict[str, Any]) -> dict[str, Any]:
    optuna = _optuna()
    out = {}
    for name, spec in space.items():
        if spec["type"] == "float":
            out[name] = optuna.distributions.FloatDistribution(float(spec["low"]), float(spec["high"]),
                                                               log=bool(spec.get("log", False)), step=spec.get("step"))
        elif spec["type"] == "int":
            out[name] = optuna.distributions.IntDistribution(int(spec["low"]), int(spec["high"]),
                                                             log=bool(spec.get("log", False)), step=int(spec.get("step", 1)))
        else:
            out[name] = optuna.distributions.CategoricalDistribution(list(spec["choices"]))
    return out


def suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    params = {}
    for name, spec in space.items():
        if spec["type"] == "float":
            params[name] = trial.suggest_float(name, float(spec["low"]), float(spec["high"]),
                                               log=bool(spec.get("log", False)), step=spec.get("step"))
        elif spec["type"] == "int":
            params[name] = trial.suggest_int(name, int(spec["low"]), int(spec["high"]),
                                             log=bool(spec.get("log", False)), step=int(spec.get("step", 1)))
        else:
            params[name] = trial.suggest_categorical(name, list(spec["choices"]))
    return params


# ----------------------------------------------------------------------------------------------
# Storage, study, accounting
# ----------------------------------------------------------------------------------------------
def default_storage(output_dir: Path) -> str:
    return f"sqlite:///{(output_dir / 'optuna.db').resolve()}"


def make_storage(url: str, heartbeat_interval: int = 10, grace_period: int = 30) -> Any:
    """RDBStorage with heartbeats (stale trials → FAILED → re-enqueued with the same parameters)."""
    optuna = _optuna()
    if "://" not in url:
        raise _config_error(f"--storage: expected a database URL such as sqlite:///optuna.db or "
                            f"postgresql://user@host/db, got {url!r}")
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs["connect_args"] = {"timeout": 120}     # several writers: wait for the lock
    try:
        return optuna.storages.RDBStorage(
            url, engine_kwargs=engine_kwargs, heartbeat_interval=max(1, int(heartbeat_interval)),
            grace_period=max(int(grace_period), int(heartbeat_interval) + 1),
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
    except Exception as exc:  # noqa: BLE001 — a bad URL / unreachable database is bad input
        raise _config_error(f"--storage {url!r}: cannot open ({type(exc).__name__}: {exc})") from exc


def make_pruner(name: str) -> Any:
    optuna = _optuna()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise _config_error(f"--pruner: unknown pruner {name!r}; allowed: median, hyperband, none")


def make_sampler(seed: int, stream: int) -> Any:
    optuna = _optuna()
    return optuna.samplers.TPESampler(seed=seed * 100_003 + stream, constant_liar=True)


def open_study(spec: SweepSpec, storage: Any) -> Any:
    """Create or resume the study; refuse a different sweep configuration under the same name."""
    optuna = _optuna()
    study = optuna.create_study(study_name=spec.study, storage=storage, direction="minimize",
                                sampler=make_sampler(spec.seed, 0), pruner=make_pruner(spec.pruner),
                                load_if_exists=True)
    stored = study.user_attrs.get(SPEC_ATTR)
    mine = {k: spec.to_dict()[k] for k in RESUME_FIELDS}
    if stored is None:
        study.set_user_attr(SPEC_ATTR, {**mine, "trials": spec.trials, "pruner": spec.pruner,
                                        "created_unix": time.time()})
    else:
        for key in RESUME_FIELDS:
            if json.dumps(stored.get(key), sort_keys=True) != json.dumps(mine[key], sort_keys=True):
                raise _config_error(f"--study {spec.study}: this study exists with a different {key} "
                                    f"({stored.get(key)!r}, now {mine[key]!r}); use another --study name or the "
                                    "original settings to resume it")
        if stored.get("trials") != spec.trials:
            study.set_user_attr(SPEC_ATTR, {**stored, "trials": spec.trials})
    return study


def load_spec(optuna_study: Any, **runtime: Any) -> dict[str, Any]:
    stored = optuna_study.user_attrs.get(SPEC_ATTR)
    if stored is None:
        raise _config_error(f"study {optuna_study.study_name}: not a benchmark sweep (no {SPEC_ATTR} attribute)")
    return {**stored, **runtime}


def is_stale_failure(trial: Any) -> bool:
    """A FAILED trial that no objective failed: its worker died (failed by the heartbeat check)."""
    return trial.state.name == "FAIL" and "error" not in trial.user_attrs


def account(study: Any) -> dict[str, Any]:
    """Every trial in the study, by outcome. `done` = finished trials that count toward the budget."""
    trials = study.get_trials(deepcopy=False)
    by_state: dict[str, list[int]] = {}
    for t in trials:
        by_state.setdefault(t.state.name, []).append(t.number)
    stale = [t for t in trials if is_stale_failure(t)]
    abandoned = [t.number for t in stale if len(t.system_attrs.get("retry_history", [])) >= MAX_RETRY]
    retries = {}
    for t in trials:
        origin = t.system_attrs.get("failed_trial")
        if origin is not None:
            for n in t.system_attrs.get("retry_history", [origin]):
                retries[n] = t.number
    failed_error = [t.number for t in trials if t.state.name == "FAIL" and not is_stale_failure(t)]
    done = len(by_state.get("COMPLETE", [])) + len(by_state.get("PRUNED", [])) + len(failed_error)
    return {"total": len(trials), "done": done, "complete": by_state.get("COMPLETE", []),
            "pruned": by_state.get("PRUNED", []), "failed_by_run": failed_error,
            "failed_stale": [t.number for t in stale], "retried_as": {n: retries.get(n) for n in (t.number for t in stale)},
            "abandoned": abandoned, "running": by_state.get("RUNNING", []), "waiting": by_state.get("WAITING", [])}


def all_accounted(study: Any, target: int) -> tuple[bool, str]:
    """The invariant a resumed sweep must satisfy: nothing running or queued, `target` trials done,
    and every trial of a dead worker retried by a finished trial."""
    acc = account(study)
    problems = []
    if acc["running"] or acc["waiting"]:
        problems.append(f"running {acc['running']}, waiting {acc['waiting']}")
    if acc["done"] < target:
        problems.append(f"only {acc['done']}/{target} trials done")
    finished = set(acc["complete"]) | set(acc["pruned"]) | set(acc["failed_by_run"])
    for number, retry in acc["retried_as"].items():
        if retry is None and number in acc["abandoned"]:
            continue          # retried MAX_RETRY times already: given up, its budget refilled by new trials
        if retry is None or (retry not in finished and retry not in acc["failed_stale"]):
            problems.append(f"trial {number} (dead worker) has no finished retry")
    return not problems, "; ".join(problems) or "ok"


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
    optuna = _optuna()
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


# ----------------------------------------------------------------------------------------------
# MLflow (never fails a trial)
# ----------------------------------------------------------------------------------------------
def _mlflow_client(uri: str | None) -> tuple[Any, str] | None:
    from .tracking import is_reachable, tracking_uri, warn_once

    uri = tracking_uri(uri)
    if not is_reachable(uri):
        warn_once(uri, "no answer from the server")
        return None
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    from mlflow.tracking import MlflowClient
    return MlflowClient(tracking_uri=uri), uri


def _experiment_id(client: Any, task: str) -> str:
    name = f"benchmark/{task}"
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # noqa: BLE001 — created meanwhile by another process
        return client.get_experiment_by_name(name).experiment_id


def ensure_parent_run(study: Any, spec: SweepSpec) -> str | None:
    if not spec.track:
        return None
    existing = study.user_attrs.get(PARENT_ATTR)
    try:
        got = _mlflow_client(spec.tracking_uri)
        if got is None:
            return None
        client, _ = got
        if existing:
            client.update_run(existing, status="RUNNING")
            return existing
        from mlflow.entities import Param
        run = client.create_run(_experiment_id(client, spec.task), run_name=f"sweep {spec.study}",
                                tags={"sweep.study": spec.study, "sweep.role": "parent", "method": spec.method,
                                      "sweep.objective": OBJECTIVE})
        params = {"task": spec.task, "method": spec.method, "trials": str(spec.trials), "seed": str(spec.seed),
                  "overrides": json.dumps(spec.overrides), "pruner": spec.pruner, "quick": str(spec.quick),
                  "search_space": json.dumps(spec.search_space)[:6000]}
        client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in params.items()])
        study.set_user_attr(PARENT_ATTR, run.info.run_id)
        return run.info.run_id
    except Exception as exc:  # noqa: BLE001
        from .tracking import tracking_uri, warn_once
        warn_once(tracking_uri(spec.tracking_uri), f"{type(exc).__name__}: {exc}")
        return None


def log_trial(spec: dict[str, Any], parent: str | None, trial: Any, params: dict[str, Any], state: str,
              record: dict[str, Any] | None, path: Path | None, reported: list[tuple[int, float]],
              role: str = "trial") -> str | None:
    """One child run: the trial's record when it finished, else its parameters and reports."""
    if not spec.get("track") or parent is None:
        return None
    try:
        got = _mlflow_client(spec.get("tracking_uri"))
        if got is None:
            return None
        client, uri = got
        from mlflow.entities import Metric, Param
        tags = {"mlflow.parentRunId": parent, "sweep.study": spec["study"], "sweep.role": role,
                "optuna.trial": str(trial.number if trial is not None else ""), "optuna.state": state}
        if record is not None:
            from .tracking import log_record
            run_id = log_record(record, [path] if path else [], uri)
            if run_id is None:
                return None
            for key, value in tags.items():
                client.set_tag(run_id, key, value)
        else:
            run_id = client.create_run(_experiment_id(client, spec["task"]),
                                       run_name=f"{spec['study']} trial {trial.number}",
                                       tags={**tags, "method": spec["method"]}).info.run_id
            client.log_batch(run_id, params=[Param(f"method.{k}", json.dumps(v)) for k, v in params.items()])
            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric("val/avg_ppl", v, now, s) for s, v in reported])
            client.set_terminated(run_id, status="KILLED" if state == "PRUNED" else "FAILED")
        if record is not None and trial is not None:
            value = objective_value(record)
            client.log_batch(run_id, metrics=[Metric("objective/val_avg_ppl", value, int(time.time() * 1000), 0)])
        return run_id
    except Exception as exc:  # noqa: BLE001
        from .tracking import tracking_uri, warn_once
        warn_once(tracking_uri(spec.get("tracking_uri")), f"{type(exc).__name__}: {exc}")
        return None


# ----------------------------------------------------------------------------------------------
# The objective
# ----------------------------------------------------------------------------------------------
def objective_value(record: dict[str, Any]) -> float:
    """Final VALIDATION average perplexity (the test split is never read)."""
    from .leaderboard import final_validation_avg_ppl

    value = ((record.get("final") or {}).get("validation") or {}).get("avg_ppl")
    if value is None:
        value = final_validation_avg_ppl(record)
    if value is None or not math.isfinite(float(value)):
        raise ValueError(f"{record.get('run_id')}: no finite validation avg ppl in the record")
    return float(value)


def trial_config(spec: dict[str, Any], params: dict[str, Any], seed: int | None = None) -> Any:
    from .config import resolve_config

    config = resolve_config(spec["task"], spec["method"], spec["seed"] if seed is None else seed,
                            list(spec["overrides"]), spec["quick"])
    config.recipe["hyperparameters"].update(params)
    if not spec.get("trial_downstream") and isinstance(config.task.get("evaluation"), dict) \
            and config.task["evaluation"].get("downstream"):
        config.task["evaluation"]["downstream"] = None      # the objective is validation perplexity only
    return config


def tokens_per_step(prepared: Any) -> int:
    training = prepared.config.task["training"]
    return int(training["batch_size"] * training.get("grad_accum", 1) * prepared.data.train_blocks[0].shape[1])


def run_trial(trial: Any, spec: dict[str, Any], workdir: Path, parent: str | None = None) -> float:
    """Objective of one trial: train with the sampled hyperparameters, return the validation avg ppl."""
    optuna = _optuna()

    trial.set_user_attr("worker_pid", os.getpid())
    trial.set_user_attr("worker_host", socket.gethostname())
    try:
        return _run_trial(trial, spec, workdir, parent)
    except optuna.TrialPruned:
        raise
    except BaseException as exc:
        # Marks the failure as the run's own (counted as done); a trial without "error" that ends
        # FAILED was lost with its worker and is retried.
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
        raise


def _run_trial(trial: Any, spec: dict[str, Any], workdir: Path, parent: str | None) -> float:
    optuna = _optuna()
    from .pruning import StepPruningCallback, is_pruned
    from .runner import RunFailed, execute, prepare_run

    params = suggest(trial, spec["search_space"])
    prepared = prepare_run(trial_config(spec, params), workdir)
    per_step = tokens_per_step(prepared)
    trial.set_user_attr("tokens_per_step", per_step)
    callback = StepPruningCallback(trial)
    try:
        record, path = execute(prepared, workdir, progress=False, resume=False, track=False,
                               extra_callbacks=[callback])
    except RunFailed as exc:
        steps = callback.reported[-1][0] if callback.reported else 0
        trial.set_user_attr("steps", steps)
        trial.set_user_attr("tokens", steps * per_step)
        if is_pruned(exc):
            _drop_checkpoints(workdir, prepared)
            trial.set_user_attr("pruned_at_step", callback.pruned_at)
            log_trial(spec, parent, trial, params, "PRUNED", None, None, callback.reported)
            raise optuna.TrialPruned(f"pruned at global step {callback.pruned_at}") from exc
        log_trial(spec, parent, trial, params, "FAIL", None, None, callback.reported)
        raise
    _drop_checkpoints(workdir, prepared)
    steps = int(record["compute"]["steps"])
    value = objective_value(record)
    trial.set_user_attr("steps", steps)
    trial.set_user_attr("tokens", int(record["compute"]["train_tokens"]))
    trial.set_user_attr("run_id", record["run_id"])
    trial.set_user_attr("record", str(path))
    log_trial(spec, parent, trial, params, "COMPLETE", record, path, callback.reported)
    return value


def _drop_checkpoints(workdir: Path, prepared: Any) -> None:
    """A finished or pruned trial never resumes (a retry starts fresh): free the disk. Failed
    trials keep theirs for inspection."""
    shutil.rmtree(workdir / "runs" / prepared.config.run_id / "checkpoints", ignore_errors=True)


@contextlib.contextmanager
def _ask_lock(storage_url: str) -> Iterator[None]:
    """Serialise `study.ask()` between processes sharing a sqlite study. SQLite ignores row locks
    (`SELECT ... FOR UPDATE`), so two workers could otherwise both pop the same re-enqueued
    (WAITING) trial; server databases lock the row themselves."""
    path = url_sqlite_path(storage_url)
    try:
        import fcntl
    except ImportError:       # not POSIX: no lock (use a server database for several workers)
        fcntl = None
    if not path or fcntl is None:
        yield
        return
    with open(f"{path}.ask.lock", "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def url_sqlite_path(url: str) -> str | None:
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def _heartbeat(trial: Any, storage: Any) -> Any:
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
    optuna = _optuna()

    storage = make_storage(storage_url, heartbeat_interval, grace_period)
    study = optuna.load_study(study_name=study_name, storage=storage)
    spec = load_spec(study, study=study_name, track=track, tracking_uri=tracking_uri)
    study = optuna.load_study(study_name=study_name, storage=storage,
                              sampler=make_sampler(spec["seed"], stream), pruner=make_pruner(spec["pruner"]))
    parent = study.user_attrs.get(PARENT_ATTR) if track else None
    target = int(spec["trials"])
    for _ in range(n_trials):
        with _ask_lock(storage_url):
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


def _tell(study: Any, trial: Any, state: Any, value: float | None, log: Any) -> None:
    try:
        if state.name == "COMPLETE":
            study.tell(trial, value)
        else:
            study.tell(trial, state=state)
    except Exception as exc:  # noqa: BLE001 — e.g. failed meanwhile as stale by another process
        log(f"trial {trial.number}: result not stored ({type(exc).__name__}: {exc})")


# ----------------------------------------------------------------------------------------------
# Coordinator
# ----------------------------------------------------------------------------------------------
def _shares(total: int, workers: int) -> list[int]:
    workers = max(1, min(workers, total))
    return [total // workers + (1 if i < total % workers else 0) for i in range(workers)]


def _launch(spec: SweepSpec, shares: list[int], stream_base: int, threads: int) -> list[subprocess.Popen]:
    procs = []
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    root = str(Path(__file__).resolve().parent.parent)
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
    optuna = _optuna()
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
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


# ----------------------------------------------------------------------------------------------
# After the study: tuned recipe, final run, plots, summary
# ----------------------------------------------------------------------------------------------
def tuned_recipe(spec: SweepSpec, study: Any) -> dict[str, Any]:
    import copy

    from .config import load_recipe

    original = load_recipe(spec.method)
    best = study.best_trial
    acc = account(study)
    recipe = {k: copy.deepcopy(v) for k, v in original.items() if k != "name"}
    recipe["description"] = (f"{spec.method} with hyperparameters tuned by Optuna ({acc['done']} trials, study "
                             f"{spec.study}, objective: {OBJECTIVE} on {spec.task}). "
                             + str(original.get("description", "")).strip())
    recipe["source"] = f"tuned from baselines/{spec.method}.yaml; " + str(original.get("source", "")).strip()
    recipe["hyperparameters"] = {**original.get("hyperparameters", {}), **best.params}
    recipe["tuning"] = {"tuned": True, "trials": acc["done"], "study": spec.study, "objective": OBJECTIVE,
                        "task": spec.task, "overrides": list(spec.overrides), "quick": spec.quick,
                        "seed": spec.seed, "best_trial": best.number, "best_value": best.value,
                        "tuned_params": dict(best.params)}
    return recipe


def write_recipe(recipe: dict[str, Any], path: Path) -> Path:
    import yaml

    from .leaderboard import write_text_atomic

    header = (f"# Generated by `python -m benchmark sweep` (study {recipe['tuning']['study']}).\n"
              "# Tuned hyperparameters; the search space is the original recipe's.\n")
    return write_text_atomic(path, header + yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True))


def extra_runs(study: Any) -> list[dict[str, Any]]:
    """The sweep's compute, one entry per trial that trained (pruned and dead ones included)."""
    runs = []
    for t in study.get_trials(deepcopy=False):
        if t.state.name in ("WAITING",):
            continue
        steps = t.user_attrs.get("steps")
        if steps is None:   # a dead worker's trial: the last reported evaluation step
            steps = max(t.intermediate_values) if t.intermediate_values else 0
        tokens = t.user_attrs.get("tokens")
        if tokens is None:
            tokens = int(steps) * int(t.user_attrs.get("tokens_per_step", 0))
        runs.append({"kind": TRIAL_KIND, "steps": int(steps), "tokens": int(tokens), "trial": t.number,
                     "state": t.state.name, "study": study.study_name})
    return runs


def run_final(spec: SweepSpec, study: Any, recipe: dict[str, Any], output_dir: Path,
              log: Any = print) -> list[tuple[dict[str, Any], Path]]:
    """Train the best configuration (seeds `final_seeds`) as method `<method>-tuned`; records carry
    `tuning` and the sweep's compute."""
    from .config import resolve_config
    from .records import write_json_atomic
    from .runner import execute, prepare_run

    parent = study.user_attrs.get(PARENT_ATTR) if spec.track else None
    acc = account(study)
    extras = extra_runs(study)
    out = []
    for seed in spec.final_seeds or [spec.seed]:
        config = resolve_config(spec.task, spec.method, seed, list(spec.overrides), spec.quick)
        config.recipe = {**json.loads(json.dumps(recipe)), "name": f"{spec.method}-tuned"}
        log(f"final run: {spec.method}-tuned seed {seed} (best trial {study.best_trial.number})")
        record, path = execute(prepare_run(config, output_dir), output_dir, progress=False, resume=True, track=False)
        record["tuning"] = {"tuned": True, "trials": acc["done"], "study": spec.study, "objective": OBJECTIVE,
                            "best_trial": study.best_trial.number, "best_value": study.best_value,
                            "params": dict(study.best_trial.params), "pruner": spec.pruner,
                            "storage": _redact(spec.storage), "search_space": spec.search_space}
        record["compute"]["extra_runs"] = extras
        write_json_atomic(path, record)
        if spec.track:
            from .plots import plot_mixture
            from .tracking import log_record
            plot = plot_mixture(record, output_dir / "runs" / record["run_id"] / "mixture.png")
            run_id = log_record(record, [path, plot], spec.tracking_uri)
            if run_id and parent:
                try:
                    got = _mlflow_client(spec.tracking_uri)
                    if got:
                        for key, value in {"mlflow.parentRunId": parent, "sweep.study": spec.study,
                                           "sweep.role": "final"}.items():
                            got[0].set_tag(run_id, key, value)
                except Exception as exc:  # noqa: BLE001
                    log(f"warning: MLflow tags not set ({type(exc).__name__}: {exc})")
            record["mlflow_run_id"] = run_id
            write_json_atomic(path, record)
        out.append((record, path))
    return out


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def plot_history(study: Any, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = study.get_trials(deepcopy=False)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    done = [t for t in trials if t.state.name == "COMPLETE"]
    ax.scatter([t.number for t in done], [t.value for t in done], label="complete", color="tab:blue", zorder=3)
    pruned = [t for t in trials if t.state.name == "PRUNED" and t.intermediate_values]
    ax.scatter([t.number for t in pruned], [t.intermediate_values[max(t.intermediate_values)] for t in pruned],
               marker="x", color="grey", label="pruned (last report)")
    if done:
        order = sorted(done, key=lambda t: t.number)
        best, xs, ys = math.inf, [], []
        for t in order:
            best = min(best, t.value)
            xs.append(t.number)
            ys.append(best)
        ax.step(xs, ys, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(OBJECTIVE)
    ax.set_title(f"optimisation history — {study.study_name}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    for t in trials:
        if t.intermediate_values:
            steps = sorted(t.intermediate_values)
            ax2.plot(steps, [t.intermediate_values[s] for s in steps], marker=".",
                     color="grey" if t.state.name == "PRUNED" else "tab:blue", alpha=0.7)
    ax2.set_xlabel("global step")
    ax2.set_ylabel("reported validation avg ppl")
    ax2.set_title("intermediate values (grey: pruned)", fontsize=10)
    ax2.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def param_importances(study: Any) -> tuple[dict[str, float] | None, str]:
    optuna = _optuna()
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(complete) < 2:
        return None, f"parameter importance needs at least 2 completed trials (this study has {len(complete)})"
    try:
        return dict(optuna.importance.get_param_importances(study)), "PED-ANOVA (optuna.importance default)"
    except Exception as exc:  # noqa: BLE001 — e.g. all trials identical
        return None, f"parameter importance not available: {type(exc).__name__}: {exc}"


def plot_importance(study: Any, path: Path) -> tuple[Path, dict[str, float] | None, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    importances, how = param_importances(study)
    fig, ax = plt.subplots(figsize=(6, 3))
    if importances:
        names = list(importances)[::-1]
        ax.barh(names, [importances[n] for n in names], color="tab:blue")
        ax.set_xlabel("importance (normalised)")
        ax.set_title(f"hyperparameter importance — {how}", fontsize=9)
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, how, ha="center", va="center", wrap=True, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path, importances, how


def finish(spec: SweepSpec, study: Any, install: bool = False, log: Any = print) -> dict[str, Any]:
    from .leaderboard import write_text_atomic

    output = Path(spec.output_dir)
    acc = account(study)
    history = plot_history(study, output / "history.png")
    importance_png, importances, how = plot_importance(study, output / "importance.png")
    summary: dict[str, Any] = {"study": spec.study, "storage": _redact(spec.storage), "task": spec.task,
                               "method": spec.method, "objective": OBJECTIVE, "accounting": acc,
                               "importances": importances, "importance_method": how,
                               "files": {"history": str(history), "importance": str(importance_png)}}
    if not acc["complete"]:
        summary["error"] = "no trial completed (all pruned or failed): no best configuration"
        write_text_atomic(output / "summary.json", json.dumps(summary, indent=1, default=str))
        return summary
    recipe = tuned_recipe(spec, study)
    recipe_path = write_recipe(recipe, output / "recipes" / f"{spec.method}-tuned.yaml")
    summary.update({"best_trial": study.best_trial.number, "best_value": study.best_value,
                    "best_params": study.best_params, "recipe": str(recipe_path)})
    if install:
        target = install_recipe(recipe_path)
        summary["installed_recipe"] = str(target)
        log(f"installed {target}")
    finals = run_final(spec, study, recipe, output, log)
    summary["final_records"] = [str(p) for _, p in finals]
    summary["final_validation_avg_ppl"] = [objective_value(r) for r, _ in finals]
    parent = study.user_attrs.get(PARENT_ATTR) if spec.track else None
    if parent:
        try:
            got = _mlflow_client(spec.tracking_uri)
            if got:
                client, _ = got
                from mlflow.entities import Metric
                now = int(time.time() * 1000)
                client.log_batch(parent, metrics=[Metric("best/val_avg_ppl", study.best_value, now, 0),
                                                  Metric("trials/done", acc["done"], now, 0)])
                for key, value in study.best_params.items():
                    client.set_tag(parent, f"best.{key}", json.dumps(value))
                for p in (history, importance_png, recipe_path):
                    client.log_artifact(parent, str(p))
                client.set_terminated(parent, status="FINISHED")
        except Exception as exc:  # noqa: BLE001
            log(f"warning: MLflow parent run not updated ({type(exc).__name__}: {exc})")
    write_text_atomic(output / "summary.json", json.dumps(summary, indent=1, default=str))
    return summary


def install_recipe(recipe_path: Path, baselines_dir: Path | None = None) -> Path:
    """Copy a tuned recipe into baselines/ (the checkout's, or the installed package's)."""
    from .paths import resource_dir

    target = (baselines_dir or resource_dir("baselines")) / recipe_path.name
    shutil.copyfile(recipe_path, target)
    return target


def run_sweep(spec: SweepSpec, workers: int = 1, install: bool = False, log: Any = print) -> tuple[int, dict[str, Any]]:
    study, complete = optimise(spec, workers, log=log)
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
    log(f"best {OBJECTIVE}: {summary['best_value']:.4g} with {summary['best_params']} (trial {summary['best_trial']})")
    log(f"tuned recipe: {summary['recipe']}; final record(s): {', '.join(summary['final_records'])}")
    return 0, summary


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"seeds must be non-negative integers, got {text!r}") from exc
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be non-negative integers, got {text!r}")
    return seeds


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def configure_parser(sweep: argparse.ArgumentParser) -> None:
    sweep.add_argument("--task", default=DEFAULT_TASK, help=f"benchmark task (default: {DEFAULT_TASK})")
    sweep.add_argument("--method", help="method recipe with a search_space (see `list`)")
    sweep.add_argument("--trials", type=_positive, required=True,
                       help="trials of the study in total (a resumed study runs only the missing ones)")
    sweep.add_argument("--storage", default=None, help="Optuna storage URL (default: sqlite:///<output-dir>/optuna.db)")
    sweep.add_argument("--study", default=None, help="study name (default: sweep-<task>-<method>[-quick])")
    sweep.add_argument("--workers", type=_positive, default=1, help="worker processes sharing the study (default: 1)")
    sweep.add_argument("--seed", type=int, default=0, help="training seed of every trial (default: 0)")
    sweep.add_argument("--final-seeds", type=_seed_list, default=None,
                       help="seeds of the final run(s) of the best configuration (default: --seed)")
    sweep.add_argument("--equal-budget", default=None, metavar="M1,M2,...",
                       help="tune every listed method with the same --trials (one study each)")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a task field for every trial, e.g. training.steps=200")
    sweep.add_argument("--quick", action="store_true", help="the task's quick budget for every trial")
    sweep.add_argument("--pruner", default="median", choices=["median", "hyperband", "none"])
    sweep.add_argument("--trial-downstream", action="store_true",
                       help="also run the downstream (lm-eval) evaluation in every trial (default: final run only)")
    sweep.add_argument("--output-dir", type=Path, default=None, help="default: sweeps/<study>")
    sweep.add_argument("--install-recipe", action="store_true",
                       help="copy recipes/<method>-tuned.yaml into baselines/")
    sweep.add_argument("--tracking-uri", default=None,
                       help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    sweep.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    sweep.add_argument("--heartbeat-interval", type=_positive, default=10,
                       help="seconds between a running trial's heartbeats (default: 10)")
    sweep.add_argument("--grace-period", type=_positive, default=30,
                       help="seconds without heartbeat after which a trial counts as dead (default: 30)")


def add_parser(subparsers: Any) -> None:
    sweep = subparsers.add_parser(
        "sweep", help="tune a method's hyperparameters with Optuna (validation objective, pruning, workers)",
        description="An Optuna study over the recipe's search_space: objective = final validation average "
                    "perplexity; step-level pruning; resumable sqlite/RDB storage shared by --workers processes; "
                    "MLflow parent/child runs; writes <output>/recipes/<method>-tuned.yaml and runs the best "
                    "configuration (record['tuning']).")
    configure_parser(sweep)


def build_spec(args: argparse.Namespace, method: str, equal_budget: bool = False) -> SweepSpec:
    from .config import load_task, resolve_config, task_names

    if args.task not in task_names():
        raise _config_error(f"task: unknown task {args.task!r}; allowed: {', '.join(task_names())}")
    family = load_task(args.task).get("family")
    if family != "pretrain":
        pretrain = [t for t in task_names() if load_task(t).get("family") == "pretrain"]
        raise _config_error(f"task: sweeps run pre-training tasks (the runner's validation perplexity objective); "
                            f"{args.task!r} is a {family} task. Allowed: {', '.join(pretrain)}")
    if args.seed < 0:
        raise _config_error(f"--seed: must be a non-negative integer, got {args.seed}")
    space = search_space_of(method)
    resolve_config(args.task, method, args.seed, args.overrides, args.quick)   # bad overrides fail here
    default = f"sweep-{args.task}-{method}" + ("-quick" if args.quick else "")
    study = (f"{args.study}-{method}" if args.study else default) if equal_budget else (args.study or default)
    output = args.output_dir or Path("sweeps") / study
    if equal_budget and args.output_dir:
        output = args.output_dir / method
    return SweepSpec(task=args.task, method=method, trials=args.trials, study=study,
                     storage=args.storage or default_storage(output), output_dir=str(output),
                     overrides=list(args.overrides), quick=args.quick, seed=args.seed,
                     final_seeds=args.final_seeds or [args.seed], pruner=args.pruner, search_space=space,
                     trial_downstream=args.trial_downstream, heartbeat_interval=args.heartbeat_interval,
                     grace_period=args.grace_period, track=not args.no_tracking, tracking_uri=args.tracking_uri)


def run_command(args: argparse.Namespace) -> int:
    from .offline import go_offline

    go_offline()
    if args.equal_budget:
        methods = [m for m in args.equal_budget.split(",") if m.strip()]
        if args.method and args.method not in methods:
            methods.insert(0, args.method)
        return run_equal_budget(args, methods)
    if not args.method:
        raise _config_error("--method: required (or --equal-budget M1,M2,...)")
    spec = build_spec(args, args.method)
    code, _ = run_sweep(spec, args.workers, args.install_recipe)
    return code


def run_equal_budget(args: argparse.Namespace, methods: list[str]) -> int:
    """Tune every method with the same number of trials, then compare the tuned runs. A method
    without a search_space (e.g. uniform) has nothing to tune: it runs as published, same seeds."""
    from .config import ConfigError, load_recipe, resolve_config
    from .leaderboard import format_markdown, leaderboard_rows, write_text_atomic
    from .records import load_records
    from .runner import execute, prepare_run

    specs, untuned = [], []
    for method in methods:                       # validate everything before any training
        if not load_recipe(method).get("search_space"):
            resolve_config(args.task, method, args.seed, args.overrides, args.quick)
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
        for seed in args.final_seeds or [args.seed]:
            config = resolve_config(args.task, method, seed, args.overrides, args.quick)
            record, path = execute(prepare_run(config, root / "untuned"), root / "untuned", progress=False,
                                   track=not args.no_tracking, tracking_uri=args.tracking_uri)
            paths.append(path)
    if paths:
        markdown = format_markdown(leaderboard_rows(load_records(paths)))
        print(f"\nEqual budget: {args.trials} trials per tunable method\n")
        print(markdown)
        write_text_atomic(root / "equal_budget.md", f"# Equal-budget comparison ({args.trials} trials per tunable "
                          f"method; untuned: {', '.join(untuned) or 'none'})\n\n" + markdown)
    return max(codes) if codes else 0


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmark.sweep ...` — the sweep command stand-alone, and the hidden worker mode."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "worker":
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
        args = parser.parse_args(argv[1:])
        from .offline import go_offline

        go_offline()
        if args.threads:
            import torch
            torch.set_num_threads(args.threads)
        return worker(args.storage, args.study, args.n_trials, args.workdir, args.stream, args.heartbeat_interval,
                      args.grace_period, not args.no_tracking, args.tracking_uri)
    parser = argparse.ArgumentParser(prog="python -m benchmark.sweep", description=add_parser.__doc__)
    configure_parser(parser)
    args = parser.parse_args(argv)
    from .config import ConfigError
    try:
        return run_command(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
