"""What a sweep takes from its task's family: the objective (metric, direction, the record field
it reads, the curve the pruner reports) and the run configuration of a trial or final run.

- pre-training (`family: pretrain`): minimise the final validation average perplexity
  (`final.validation.avg_ppl`, the default), or with `--objective mean_excess_loss` the final
  validation mean excess loss over the domains' known loss floors (embedded tasks; it weighs every
  domain's distance to its floor equally, where average perplexity is dominated by the domains
  whose floor perplexity is high);
- FLAD (`family: flad`): maximise the best few-shot validation accuracy (`final.validation.acc`,
  the few-shot validation half of the target's split; the test split is never read). A FLAD study
  tunes for ONE target and split seed: `--target` (default: the task's `default_targets[0]`) and
  `--seed` (default: the task's first split seed, `seeds[0]`); the final run(s) use the same
  target, with `--final-seeds` (default: `--seed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .common import config_error


@dataclass(frozen=True)
class Objective:
    name: str            # the study's metric name and the records' `tuning.objective`
    direction: str       # the Optuna study direction: minimize | maximize
    record_key: str      # final.validation.<record_key>
    metric: str          # the pruning callback's reported metric / MLflow metric name
    short: str           # MLflow metric suffix (objective/<short>, best/<short>), summary key suffix

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"


# Each family's objectives by `--objective` key; the first is the default. The pruner of the excess
# objective reports the mean validation loss: the floors are constants, so it orders trials alike.
OBJECTIVES = {
    "pretrain": {
        "avg_ppl": Objective("validation avg ppl", "minimize", "avg_ppl", "val/avg_ppl", "val_avg_ppl"),
        "mean_excess_loss": Objective("validation mean excess loss", "minimize", "mean_excess_loss",
                                      "val/mean_loss", "val_mean_excess_loss"),
    },
    "flad": {"acc": Objective("few-shot validation accuracy", "maximize", "acc", "val/acc", "val_acc")},
}
FAMILIES = tuple(OBJECTIVES)


def objective_of(family: str | None, key: str | None = None) -> Objective:
    """A family's objective `key` (default: its first; a spec without a family is a pre-training
    sweep: older studies)."""
    family = family or "pretrain"
    if family not in OBJECTIVES:
        raise config_error(f"task: sweeps run on families {', '.join(FAMILIES)}; got a {family} task")
    choices = OBJECTIVES[family]
    if key is None:
        return next(iter(choices.values()))
    if key not in choices:
        raise config_error(f"--objective: a {family} sweep offers {', '.join(choices)}; got {key!r}")
    return choices[key]


def task_family(task: str) -> str:
    """The family of a task name or file (an unknown one fails with the allowed names)."""
    from ..config import load_task

    family = load_task(task).get("family") or "pretrain"
    objective_of(family)          # refuses a family without a sweep objective
    return family


def default_seed(task: str, family: str) -> int:
    """The study's seed when --seed is not given: 0 (pre-training), the task's first split seed (FLAD)."""
    if family != "flad":
        return 0
    from ..config import load_task
    from ..flad.arms import PAPER_SPLIT_SEEDS

    return int((load_task(task).get("seeds") or PAPER_SPLIT_SEEDS)[0])


def default_target(task: str) -> str:
    """A FLAD study's target when --target is not given: the task's default_targets[0]."""
    from ..config import load_task

    targets = load_task(task).get("default_targets") or []
    if not targets:
        raise config_error(f"--target: task {task!r} names no default_targets; give the target to tune for")
    return str(targets[0])


def check_target(task: str, method: str, seed: int, target: str, overrides: list[str], quick: bool,
                 output_dir: Any) -> None:
    """One known target of the task (a FLAD study tunes for one target, never `all` or a list)."""
    from ..config import load_task
    from ..flad.arms import T0_HELD_OUT, resolve_targets
    from ..flad.runner import flad_configs

    if target in ("all", "") or "," in target:
        raise config_error(f"--target: a FLAD sweep tunes for one target (the objective is its validation "
                           f"accuracy), got {target!r}")
    if (load_task(task).get("data") or {}).get("builder") == "p3":      # the held-out targets: no data to load
        try:
            resolve_targets(target, list(T0_HELD_OUT))
        except ValueError as exc:
            raise config_error(str(exc)) from exc
        return
    flad_configs(task, [method], [seed], target, list(overrides), quick, output_dir)   # embedded: cheap to build


def run_config(family: str, task: str, method: str, seed: int, overrides: list[str], quick: bool,
               target: str | None = None) -> Any:
    """The run configuration of one trial or final run of the sweep (FLAD: for its target and split seed)."""
    from ..config import resolve_run_config

    return resolve_run_config(task, method, seed, list(overrides), quick,
                              (target or default_target(task)) if family == "flad" else None)
