"""The FLAD fields of a run's record: target, few-shot split, arm roles and masses, compute."""

from __future__ import annotations

from typing import Any

import numpy as np

from .data import manifest_hash
from .family import TARGET_ARM, FladRun


def _mass(weights: list[list[float]], domains: list[str], roles: dict[str, str], role: str) -> list[float]:
    mask = np.array([roles.get(d) == role for d in domains])
    return [float(np.asarray(w)[mask].sum()) for w in weights]


def _truth_fields(run: FladRun, curves: dict[str, Any], trajectory: dict[str, Any]) -> dict[str, Any]:
    """Where the mixture went, against the embedded benchmark's known helpful / harmful arms."""
    roles = run.data.roles(run.target.name)
    if roles is None:
        return {}
    domains = run.domains
    helpful = np.array([roles.get(d) == "helpful" for d in domains])
    aux = np.array([d != TARGET_ARM for d in domains])
    draws = [np.asarray(x) for x in curves.get("draws", [])]
    return {"arm_roles": {d: roles.get(d, "target") for d in domains},
            "helpful_mass": _mass(trajectory["weights"], domains, roles, "helpful"),
            "harmful_mass": _mass(trajectory["weights"], domains, roles, "harmful"),
            "transient_mass": _mass(trajectory["weights"], domains, roles, "transient"),
            "helpful_mass_uniform": sum(r == "helpful" for r in roles.values()) / len(domains),
            "helpful_drawn": [float(x[helpful].sum() / max(x[aux].sum(), 1)) for x in draws],
            "drawn_steps": list(curves.get("train_steps", []))}


def flad_record_fields(run: FladRun, fit: Any) -> dict[str, Any]:
    config, target, validation = run.config, run.target, fit.callback.evaluator
    settings = run.strategy.reward_settings() if hasattr(run.strategy, "reward_settings") else None
    flad = {"task": config.task_name, "target": target.name, "split_seed": config.seed,
            "mode": "bandit" if run.bandit else "mixed", "protocol": run.test.get("protocol"),
            "best_step": validation.best_step, "stopped_early": fit.callback.stopped_early,
            "few_shot": {"train": len(target.train), "validation": len(target.validation), "test": len(target.test),
                         "indices": target.few_shot_indices},
            "skipped_templates": target.skipped_templates,
            "reward": settings.kind if settings else None,
            "target_gradient": settings.target_gradient if settings and run.bandit else None,
            "sampler": getattr(run.strategy, "sampler", None),
            "warm_start_rewards": fit.warm_start_run.get("rewards") if fit.warm_start_run else None,
            "base_model": {**run.bundle.description, "built_in_this_run": run.base_model_runs},
            **_truth_fields(run, fit.callback.curves, run.strategy.weight_trajectory())}
    test = {"acc": run.test.get("acc"), "n": run.test.get("n"), "protocol": run.test.get("protocol"),
            "avg_ppl": None, "worst_ppl": None, "by_protocol": run.test.get("by_protocol")}
    return {"target": target.name,
            "data_manifest": {**run.data.manifest, "target": target.name, "hash": manifest_hash(run.data.arms, target)},
            "final": {"test": test}, "flad": flad, "compute": _compute(run, fit), "timing": _reward_timing(fit)}


def _reward_timing(fit: Any) -> dict[str, float]:
    rewards = next(iter(fit.module.capabilities), None)
    seconds = rewards.seconds if rewards is not None else 0.0
    train = fit.callback.train_seconds
    return {"reward_seconds": seconds, "reward_share": seconds / train if train else 0.0}


def _compute(run: FladRun, fit: Any) -> dict[str, Any]:
    """Training tokens (arm micro-batches + target passes), the reward probes on top, the warm start."""
    from ..runner import run_compute
    feeder = fit.datamodule.feeder
    return run_compute(run, fit, fit.module.tokens_seen, feeder.strategy_seconds if feeder else 0.0)
