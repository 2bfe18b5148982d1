"""Hyperparameter sweeps with Optuna over a recipe's `search_space`.

    python -m benchmark sweep --task embedded-pretrain --method odm-code --trials 20 \
        [--storage sqlite:///optuna.db] [--study NAME] [--workers 2] [--seed 0] [--set KEY=VALUE ...]
    python -m benchmark sweep --equal-budget uniform,odm-code,exp3 --trials 20      # same budget for all
    python -m benchmark sweep --task embedded-flad --method exp3-flad --trials 20 [--target tgt_a] [--seed 42]

What happens:
- one Optuna study in an RDB storage (its direction and metric name follow the task's family:
  pre-training minimises "validation avg ppl", FLAD maximises "few-shot validation accuracy") —
  sqlite by default (`<output>/optuna.db`), or
  any SQLAlchemy database URL (PostgreSQL/MySQL) for workers on several machines. The study keeps
  its sweep configuration (task, method, overrides, seed, target, search space) as a user attribute: a
  rerun of the same command RESUMES it (`load_if_exists`), a different configuration under the
  same name is refused;
- every trial is a real training run (runner.execute) with the sampled hyperparameters; the
  objective is read from the run's record, never from the test split (benchmark.sweep.family):
  pre-training: the final VALIDATION average perplexity (`final.validation.avg_ppl`; with
  `--objective mean_excess_loss`, the mean excess loss over known floors), trials skip
  the downstream (lm-eval) evaluation unless `--trial-downstream`; FLAD: the best few-shot
  VALIDATION accuracy (`final.validation.acc`) on ONE target — `--target` (default: the task's
  `default_targets[0]`) with split seed `--seed` (default: the task's `seeds[0]`) — and trials do
  not score the test split unless `--trial-downstream`; the final run(s) use the same target;
- pruning at the global step (benchmark.pruning.StepPruningCallback) on the family's validation
  metric at each evaluation (avg ppl; FLAD: `curves["val_acc"][-1]`) with a MedianPruner by
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
- MLflow: one parent run per study (its id is kept in the study), one child run per trial
  (`mlflow.parentRunId`), the final run(s) too; tracking URI as for `run`;
- outputs in `--output-dir` (default `sweeps/<study>`): `recipes/<method>-tuned.yaml` (installed
  into baselines/ with `--install-recipe`), `history.png`, `importance.png`, `summary.json`, and
  the final run(s) of the best configuration in `records/`, whose record carries
  `tuning = {"tuned": true, "trials": N, "study": name, "objective": ..., "direction": ...}` and
  every trial's compute in `compute.extra_runs` (kind "sweep-trial").
"""

# The package's public names, kept importable from `benchmark.sweep` as before the split.
from .accounting import account, all_accounted, extra_runs, is_stale_failure
from .cli import add_parser, configure_parser, main, run_command
from .common import (
    DEFAULT_TASK, MAX_RETRY, OBJECTIVE, PARENT_ATTR, RESUME_FIELDS, SPEC_ATTR, TRIAL_KIND, config_error, load_optuna,
)
from .coordinator import optimise, reap_dead_local_trials
from .driver import run_equal_budget, run_sweep
from .family import OBJECTIVES, Objective, objective_of
from .final_run import finish, run_final
from .mlflow_runs import (
    close_parent_run, ensure_parent_run, log_final_run, log_trial, mlflow_client, parent_run_id,
)
from .objective import objective_value
from .plots import param_importances, plot_history, plot_importance
from .recipe import install_recipe, tuned_recipe, write_recipe
from .space import distributions, search_space_of, suggest
from .spec import SweepSpec, build_spec
from .storage import (
    ask_lock, default_storage, load_spec, make_pruner, make_sampler, make_storage, open_study, url_sqlite_path,
)
from .trial_run import run_trial, tokens_per_step, trial_config
from .workers import worker, worker_main

__all__ = [
    "DEFAULT_TASK", "MAX_RETRY", "OBJECTIVE", "OBJECTIVES", "Objective", "PARENT_ATTR", "RESUME_FIELDS", "SPEC_ATTR",
    "TRIAL_KIND", "SweepSpec",
    "account", "add_parser", "all_accounted", "ask_lock", "build_spec", "close_parent_run", "config_error",
    "configure_parser", "default_storage", "distributions", "ensure_parent_run", "extra_runs", "finish",
    "install_recipe", "is_stale_failure", "load_optuna", "load_spec", "log_final_run", "log_trial", "main",
    "make_pruner", "make_sampler", "make_storage", "mlflow_client", "objective_of", "objective_value", "open_study",
    "optimise",
    "param_importances", "parent_run_id", "plot_history", "plot_importance", "reap_dead_local_trials",
    "run_command", "run_equal_budget", "run_final", "run_sweep", "run_trial", "search_space_of", "suggest",
    "tokens_per_step", "trial_config", "tuned_recipe", "url_sqlite_path", "worker", "worker_main", "write_recipe",
]
