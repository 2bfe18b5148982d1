"""After the study: the best configuration's final run(s) and the sweep's summary (figures,
tuned recipe, MLflow parent run closed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..compute import with_totals
from .accounting import account, extra_runs
from .common import TRIAL_KIND
from .family import run_config
from .mlflow_runs import close_parent_run, log_final_run, parent_run_id
from .objective import objective_value
from .plots import plot_history, plot_importance
from .recipe import install_recipe, tuned_name, tuned_recipe, write_recipe
from .spec import SweepSpec


def run_final(spec: SweepSpec, study: Any, recipe: dict[str, Any], output_dir: Path,
              log: Any = print) -> list[tuple[dict[str, Any], Path]]:
    """Train the best configuration (seeds `final_seeds`; FLAD: on the study's target) as method
    `<method>-tuned`; records carry `tuning` and the sweep's compute."""
    from ..records import write_json_atomic
    from ..runner import execute, prepare_run

    parent = parent_run_id(study, spec.track)
    acc = account(study)
    extras = extra_runs(study)
    out = []
    for seed in spec.final_seeds or [spec.seed]:
        config = run_config(spec.family, spec.task, spec.method, seed, list(spec.overrides), spec.quick, spec.target)
        config.recipe = {**json.loads(json.dumps(recipe)), "name": tuned_name(spec)}
        log(f"final run: {tuned_name(spec)} seed {seed} (best trial {study.best_trial.number})")
        record, path = execute(prepare_run(config, output_dir), output_dir, progress=False, resume=True, track=False)
        record["tuning"] = {"tuned": True, "trials": acc["done"], "study": spec.study,
                            "objective": spec.objective.name, "direction": spec.objective.direction,
                            **({"target": spec.target, "trial_split_seed": spec.seed} if spec.target else {}),
                            "best_trial": study.best_trial.number, "best_value": study.best_value,
                            "params": dict(study.best_trial.params), "pruner": spec.pruner,
                            "storage": _redact(spec.storage), "search_space": spec.search_space}
        # the run's own extra runs (FLAD: warm start) stay; sweep trials of an earlier write are replaced
        own = [e for e in record["compute"].get("extra_runs") or [] if e.get("kind") != TRIAL_KIND]
        record["compute"] = with_totals({**record["compute"], "extra_runs": own + extras})   # trials: same model
        write_json_atomic(path, record)
        if spec.track:
            record["mlflow_run_id"] = log_final_run(spec, parent, record, path, output_dir, log)
            write_json_atomic(path, record)
        out.append((record, path))
    return out


def _redact(url: str) -> str:
    """The storage URL without its credentials (it goes into records and summaries)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def finish(spec: SweepSpec, study: Any, install: bool = False, log: Any = print) -> dict[str, Any]:
    """Figures, tuned recipe (installed if asked), final run(s) and summary.json of a finished study."""
    from ..records import write_text_atomic

    output = Path(spec.output_dir)
    acc = account(study)
    history = plot_history(study, output / "history.png")
    importance_png, importances, how = plot_importance(study, output / "importance.png")
    summary: dict[str, Any] = {"study": spec.study, "storage": _redact(spec.storage), "task": spec.task,
                               "method": spec.method, "objective": spec.objective.name,
                               "direction": spec.objective.direction,
                               **({"target": spec.target} if spec.target else {}), "accounting": acc,
                               "importances": importances, "importance_method": how,
                               "files": {"history": str(history), "importance": str(importance_png)}}
    if not acc["complete"]:
        summary["error"] = "no trial completed (all pruned or failed): no best configuration"
        write_text_atomic(output / "summary.json", json.dumps(summary, indent=1, default=str))
        return summary
    recipe = tuned_recipe(spec, study)
    recipe_path = write_recipe(recipe, output / "recipes" / f"{tuned_name(spec)}.yaml")
    summary.update({"best_trial": study.best_trial.number, "best_value": study.best_value,
                    "best_params": study.best_params, "recipe": str(recipe_path)})
    if install:
        target = install_recipe(recipe_path)
        summary["installed_recipe"] = str(target)
        log(f"installed {target}")
    finals = run_final(spec, study, recipe, output, log)
    summary["final_records"] = [str(p) for _, p in finals]
    summary[f"final_validation_{spec.objective.record_key}"] = [
        objective_value(r, spec.family, spec.objective_key) for r, _ in finals]
    parent = parent_run_id(study, spec.track)
    if parent:
        close_parent_run(spec, study, parent, acc["done"], [history, importance_png, recipe_path], log)
    write_text_atomic(output / "summary.json", json.dumps(summary, indent=1, default=str))
    return summary
