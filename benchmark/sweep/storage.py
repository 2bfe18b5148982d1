"""The Optuna storage and study: RDB storage with heartbeats, pruner and sampler, creating or
resuming a study (refusing a different configuration), and the file lock that serialises `ask`
on sqlite."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .common import MAX_RETRY, RESUME_FIELDS, SPEC_ATTR, config_error, load_optuna
from .space import initial_points

if TYPE_CHECKING:           # spec.py uses default_storage: a runtime import would be circular
    from .spec import SweepSpec


def default_storage(output_dir: Path) -> str:
    """sqlite beside the sweep's outputs (an absolute path: workers run in other folders)."""
    return f"sqlite:///{(output_dir / 'optuna.db').resolve()}"


def make_storage(url: str, heartbeat_interval: int = 10, grace_period: int = 30) -> Any:
    """RDBStorage with heartbeats (stale trials → FAILED → re-enqueued with the same parameters)."""
    optuna = load_optuna()
    if "://" not in url:
        raise config_error(f"--storage: expected a database URL such as sqlite:///optuna.db or "
                           f"postgresql://user@host/db, got {url!r}")
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs["connect_args"] = {"timeout": 120}     # several writers: wait for the lock
    try:
        with ask_lock(url):   # two processes creating one new sqlite file would both write its schema
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=max(1, int(heartbeat_interval)),
                grace_period=max(int(grace_period), int(heartbeat_interval) + 1),
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
    except Exception as exc:  # noqa: BLE001 — a bad URL / unreachable database is bad input
        raise config_error(f"--storage {url!r}: cannot open ({type(exc).__name__}: {exc})") from exc


def make_pruner(name: str) -> Any:
    optuna = load_optuna()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise config_error(f"--pruner: unknown pruner {name!r}; allowed: median, hyperband, none")


def make_sampler(seed: int, stream: int) -> Any:
    """TPE; each worker samples its own stream of the seed, and constant_liar keeps parallel
    workers from proposing the same point while their trials run."""
    optuna = load_optuna()
    return optuna.samplers.TPESampler(seed=seed * 100_003 + stream, constant_liar=True)


def open_study(spec: SweepSpec, storage: Any) -> Any:
    """Create or resume the study; refuse a different sweep configuration under the same name."""
    optuna = load_optuna()
    objective = spec.objective          # the family's: pre-training minimises ppl, FLAD maximises accuracy
    study = optuna.create_study(study_name=spec.study, storage=storage, direction=objective.direction,
                                sampler=make_sampler(spec.seed, 0), pruner=make_pruner(spec.pruner),
                                load_if_exists=True)
    if study.direction.name.lower() != objective.direction:
        raise config_error(f"--study {spec.study}: this study exists and {study.direction.name.lower()}s; a "
                           f"{spec.family} sweep {objective.direction}s {objective.name} — use another --study name")
    if study.metric_names is None:
        study.set_metric_names([objective.name])   # optuna-dashboard labels the objective with it
    stored = study.user_attrs.get(SPEC_ATTR)
    mine = {k: spec.to_dict()[k] for k in RESUME_FIELDS}
    if stored is None:
        study.set_user_attr(SPEC_ATTR, {**mine, "trials": spec.trials, "pruner": spec.pruner, "family": spec.family,
                                        "created_unix": time.time()})
        # e.g. the uniform, proportional, temperature mixtures of a simplex search; never more than --trials
        for point in initial_points(spec.search_space)[:spec.trials]:
            study.enqueue_trial(point)
    else:
        for key in RESUME_FIELDS:
            if json.dumps(stored.get(key), sort_keys=True) != json.dumps(mine[key], sort_keys=True):
                raise config_error(f"--study {spec.study}: this study exists with a different {key} "
                                   f"({stored.get(key)!r}, now {mine[key]!r}); use another --study name or the "
                                   "original settings to resume it")
        if stored.get("trials") != spec.trials:
            study.set_user_attr(SPEC_ATTR, {**stored, "trials": spec.trials})
    return study


def load_spec(optuna_study: Any, **runtime: Any) -> dict[str, Any]:
    """The sweep configuration stored in the study (by `open_study`), with runtime settings added."""
    stored = optuna_study.user_attrs.get(SPEC_ATTR)
    if stored is None:
        raise config_error(f"study {optuna_study.study_name}: not a benchmark sweep (no {SPEC_ATTR} attribute)")
    return {**stored, **runtime}


@contextlib.contextmanager
def ask_lock(storage_url: str) -> Iterator[None]:
    """Serialise `study.ask()` between processes sharing a sqlite study. SQLite ignores row locks
    (`SELECT ... FOR UPDATE`), so two workers could otherwise both pop the same re-enqueued
    (WAITING) trial; server databases lock the row themselves. `make_storage` holds it too while
    Optuna creates a new file's tables (two creators would both insert the schema version)."""
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
    """The database file of a sqlite URL; None for in-memory sqlite and server databases."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return None if path in ("", ":memory:") else path
