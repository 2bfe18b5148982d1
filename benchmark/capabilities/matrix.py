"""Which method runs on which benchmark: what a task offers against what a method needs.

    python -m benchmark list --matrix

A task offers loss statistics, loss weights and probe bursts (steps the method plans) always; a
pre-training task offers a frozen reference model, runs over runs through its pipelines, and
held-out evaluation on its validation blocks, and gradient rewards (with their warm
start, and the target gradient) once it has a target (`--target DOMAIN`: a held-out split of one
domain); every task offers per-domain gradients; a FLAD task offers gradient rewards and the target
gradient against its few-shot target, but no reference model, held-out evaluation or runs over runs.
"""

from __future__ import annotations

from typing import Any

from . import ALWAYS_SERVED, Capability, missing

BASE = ALWAYS_SERVED | {Capability.LOSS_WEIGHTS, Capability.PROBE_BURSTS}   # bursts are planned steps
TARGETED = {Capability.GRADIENT_REWARDS, Capability.WARM_START_REWARDS, Capability.TARGET_GRADIENT}


def pretrain_offers(has_target: bool) -> frozenset[Capability]:
    offered = BASE | {Capability.REFERENCE_MODEL, Capability.OVER_RUNS, Capability.HELD_OUT_EVALUATION,
                      Capability.DOMAIN_GRADIENTS}   # per-domain gradients (DGA, DoGE)
    return frozenset(offered | (TARGETED if has_target else set()))


# Per-domain gradients on FLAD: one batch of each arm, the target arm of a mixed method included.
FLAD_OFFERS = frozenset(BASE | TARGETED | {Capability.DOMAIN_GRADIENTS})


def recipe_needs(recipe: dict[str, Any]) -> frozenset[Capability]:
    from ..strategies import get_strategy_class
    needs = set(getattr(get_strategy_class(recipe["strategy"]), "capabilities", frozenset()))
    if recipe.get("pipeline"):
        needs.add(Capability.OVER_RUNS)
    return frozenset(needs)


def cell(recipe: dict[str, Any], task: dict[str, Any]) -> str:
    """"yes", "with --target", or why not (one short reason)."""
    family = task.get("family")
    if recipe.get("applies_to") and recipe["applies_to"] != family:
        return f"no: {recipe.get('applies_because', 'a ' + recipe['applies_to'] + ' method')}"
    needed = recipe_needs(recipe)
    offered = FLAD_OFFERS if family == "flad" else pretrain_offers(False)
    lacking = missing(needed, offered)
    if not lacking:
        return "yes"
    if family != "flad" and not missing(needed, pretrain_offers(True)):
        return "with --target"
    return "no: needs " + ", ".join(map(str, lacking))


def format_matrix(recipes: dict[str, dict[str, Any]], tasks: dict[str, dict[str, Any]]) -> str:
    """A Markdown table: methods down, tasks across, each cell "yes", "with --target" or the reason."""
    names = list(tasks)
    lines = ["| method | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for method, recipe in recipes.items():
        lines.append(f"| {method} | " + " | ".join(cell(recipe, tasks[t]) for t in names) + " |")
    return "\n".join(lines)
