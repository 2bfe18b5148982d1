"""Names every sweep module shares: study attributes, limits, the lazy Optuna import, bad-input errors."""

from __future__ import annotations

import warnings
from typing import Any

DEFAULT_TASK = "embedded-pretrain"
OBJECTIVE = "validation avg ppl"      # pre-training's; each family's objective: family.OBJECTIVES
TRIAL_KIND = "sweep-trial"
SPEC_ATTR = "sweep_spec"
PARENT_ATTR = "mlflow_parent_run_id"
MAX_RETRY = 3          # a trial lost with its worker is retried this many times, then given up
RESUME_FIELDS = ("task", "method", "overrides", "quick", "seed", "search_space", "trial_downstream", "target",
                 "objective_key")


def load_optuna() -> Any:
    """Optuna, imported on first use (keeps `python -m benchmark --help` fast), quietened."""
    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    # Our workers run ask → train → tell with the heartbeat thread themselves (see `worker`).
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def config_error(message: str) -> Exception:
    """Bad input (the CLI's exit status 2); ConfigError is imported on first use like the rest."""
    from ..config import ConfigError
    return ConfigError(message)
