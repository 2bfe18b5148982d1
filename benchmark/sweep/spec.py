"""A sweep's configuration (stored in the study so a rerun can resume it), and how the command
line's options resolve to one (task, method and overrides validated before any training)."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import config_error
from .family import Objective, check_target, default_seed, default_target, objective_of, run_config, task_family
from .space import has_simplex, search_space_of, with_domains
from .storage import default_storage


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
    family: str = "pretrain"
    target: str | None = None          # FLAD: the target (and `seed` its split seed) the study tunes for
    objective_key: str | None = None   # --objective (None: the family's default)

    @property
    def objective(self) -> Objective:
        return objective_of(self.family, self.objective_key)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _portable(name: str) -> str:
    """A task or recipe file as an absolute path, so trial workers started elsewhere find it."""
    from ..config import is_path

    return str(Path(name).resolve()) if is_path(name) else name


def build_spec(args: argparse.Namespace, method: str, equal_budget: bool = False) -> SweepSpec:
    """The spec of one method's study; with equal_budget, one study and output folder per method."""
    from ..config import label

    family = task_family(args.task)   # names or paths; an unknown task or a family without objective fails here
    objective_key = getattr(args, "objective", None)
    objective_of(family, objective_key)   # an objective the family does not offer fails here
    seed = study_seed(args, family)
    target = study_target(args, family)
    space = search_space_of(method)
    config = run_config(family, args.task, method, seed, args.overrides, args.quick, target)   # bad overrides fail here
    default = (f"sweep-{label(args.task)}-" + (f"{target}-" if target else "") + label(method)
               + ("-quick" if args.quick else ""))
    study = (f"{args.study}-{label(method)}" if args.study else default) if equal_budget else (args.study or default)
    output = args.output_dir or Path("sweeps") / study
    if equal_budget and args.output_dir:
        output = args.output_dir / label(method)
    if target:
        check_target(args.task, method, seed, target, args.overrides, args.quick, Path(output))
    if has_simplex(space) or objective_key == "mean_excess_loss":
        space = with_domains(space, *mixture_domains(config, Path(output), objective_of(family, objective_key)))
    return SweepSpec(task=_portable(args.task), method=_portable(method), trials=args.trials, study=study,
                     storage=args.storage or default_storage(output), output_dir=str(output),
                     overrides=list(args.overrides), quick=args.quick, seed=seed,
                     final_seeds=args.final_seeds or [seed], pruner=args.pruner, search_space=space,
                     trial_downstream=args.trial_downstream, heartbeat_interval=args.heartbeat_interval,
                     grace_period=args.grace_period, track=not args.no_tracking, tracking_uri=args.tracking_uri,
                     family=family, target=target, objective_key=objective_key)


def mixture_domains(config: Any, output: Path, objective: Objective) -> tuple[list[str], list[int]]:
    """The domains a pre-training run mixes and their training sizes in tokens (its data built once;
    pre-training sweeps have no target);
    an excess-loss objective is refused here on a task whose domains have no known floors."""
    from ..data.pretrain_task import build_task_data

    if config.family != "pretrain":
        raise config_error("search_space: a simplex over domains is offered on pre-training tasks only "
                           f"({config.task_name!r} is a {config.family} task)")
    data = build_task_data(dict(config.task["data"]), output / "data")
    if objective.record_key == "mean_excess_loss" and not data.floors:
        raise config_error(f"--objective: mean_excess_loss needs known per-domain loss floors, which task "
                           f"{config.task_name!r} does not have (embedded benchmarks do)")
    return list(data.domains), list(data.sizes)


def study_seed(args: argparse.Namespace, family: str) -> int:
    """--seed, or the family's default (pre-training: 0; FLAD: the task's first few-shot split seed)."""
    seed = getattr(args, "seed", None)
    seed = default_seed(args.task, family) if seed is None else seed
    if seed < 0:
        raise config_error(f"--seed: must be a non-negative integer, got {seed}")
    return seed


def study_target(args: argparse.Namespace, family: str) -> str | None:
    """FLAD: --target, or the task's default_targets[0]; pre-training tasks have none."""
    target = getattr(args, "target", None)
    if family != "flad":
        if target:
            raise config_error(f"--target: only FLAD tasks have targets; {args.task!r} is a {family} task")
        return None
    return target or default_target(args.task)
