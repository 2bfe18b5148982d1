"""A sweep's configuration (stored in the study so a rerun can resume it), and how the command
line's options resolve to one (task, method and overrides validated before any training)."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import config_error
from .space import search_space_of
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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _portable(name: str) -> str:
    """A task or recipe file as an absolute path, so trial workers started elsewhere find it."""
    from ..config import is_path

    return str(Path(name).resolve()) if is_path(name) else name


def build_spec(args: argparse.Namespace, method: str, equal_budget: bool = False) -> SweepSpec:
    """The spec of one method's study; with equal_budget, one study and output folder per method."""
    from ..config import label, load_task, resolve_config, task_names

    family = load_task(args.task).get("family")   # names or paths; an unknown one fails here
    if family != "pretrain":
        pretrain = [t for t in task_names() if load_task(t).get("family") == "pretrain"]
        raise config_error(f"task: sweeps run pre-training tasks (the runner's validation perplexity objective); "
                           f"{args.task!r} is a {family} task. Allowed: {', '.join(pretrain)}")
    if args.seed < 0:
        raise config_error(f"--seed: must be a non-negative integer, got {args.seed}")
    space = search_space_of(method)
    resolve_config(args.task, method, args.seed, args.overrides, args.quick)   # bad overrides fail here
    default = f"sweep-{label(args.task)}-{label(method)}" + ("-quick" if args.quick else "")
    study = (f"{args.study}-{label(method)}" if args.study else default) if equal_budget else (args.study or default)
    output = args.output_dir or Path("sweeps") / study
    if equal_budget and args.output_dir:
        output = args.output_dir / label(method)
    return SweepSpec(task=_portable(args.task), method=_portable(method), trials=args.trials, study=study,
                     storage=args.storage or default_storage(output), output_dir=str(output),
                     overrides=list(args.overrides), quick=args.quick, seed=args.seed,
                     final_seeds=args.final_seeds or [args.seed], pruner=args.pruner, search_space=space,
                     trial_downstream=args.trial_downstream, heartbeat_interval=args.heartbeat_interval,
                     grace_period=args.grace_period, track=not args.no_tracking, tracking_uri=args.tracking_uri)
