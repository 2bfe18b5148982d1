"""What happened to every trial of a study: done, pruned, failed by the run or lost with a dead
worker (and retried) — the invariant a finished sweep satisfies, and the compute it spent."""

from __future__ import annotations

from typing import Any

from .common import MAX_RETRY, TRIAL_KIND


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
