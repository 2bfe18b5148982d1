"""The leaderboard as CSV: every number behind the Markdown cells, one line per row."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from .metrics import METRICS


CSV_FIELDS = ["benchmark", "task", "method", "method_name", "strategy", "variant", "seeds", "n_seeds"]


def format_csv(rows: list[dict[str, Any]]) -> str:
    fields = list(CSV_FIELDS)
    for column, _, _ in METRICS:
        fields += [f"{column} mean", f"{column} ci95", f"{column} std",
                   f"Δ {column} vs baseline mean", f"Δ {column} vs baseline ci95", f"Δ {column} n pairs"]
    fields += ["final val avg ppl mean", "baseline", "steps to target mean", "steps to target per seed",
               "steps to target reached", "steps to target fraction of baseline steps", "strategy share %",
               "train s", "extra runs", "extra steps", "extra tokens", "train tokens", "extra compute kinds",
               "total FLOPs mean", "total FLOPs per seed", "FLOPs to target mean", "at budget FLOPs",
               "at budget metric", "at budget mean",
               "oracle", "regret avg ppl mean", "regret avg ppl ci95", "regret mean excess loss mean",
               "regret mean excess loss ci95", "tuned", "tuning trials", "tuning study", "run ids"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        out: dict[str, Any] = {"benchmark": r.get("benchmark", r["task"]), "task": r["task"], "method": r["method"],
                               "method_name": r.get("method_name", r["method"]), "strategy": r.get("strategy"),
                               "variant": json.dumps(r.get("variant", {}), sort_keys=True),
                               "seeds": " ".join(map(str, r["seeds"])), "n_seeds": len(r["seeds"])}
        for column, _, _ in METRICS:
            value, diff = r[column], (r.get("paired") or {}).get(column)
            out[f"{column} mean"] = _num(value and value["mean"])
            out[f"{column} ci95"] = _num(value and value["ci95"])
            out[f"{column} std"] = _num(value and value["std"])
            out[f"Δ {column} vs baseline mean"] = _num(diff and diff["mean"])
            out[f"Δ {column} vs baseline ci95"] = _num(diff and diff["ci95"])
            out[f"Δ {column} n pairs"] = diff["n"] if diff else ""
        target = r.get("steps_to_target")
        out["final val avg ppl mean"] = _num(r.get("final val avg ppl") and r["final val avg ppl"]["mean"])
        out["baseline"] = r.get("baseline") or ""
        out["steps to target mean"] = _num(target and target["mean"])
        out["steps to target per seed"] = " ".join("none" if s is None else str(s) for s in target["values"]) if target else ""
        out["steps to target reached"] = f"{target['reached']}/{target['n']}" if target else ""
        out["steps to target fraction of baseline steps"] = _num(target and target["fraction"])
        out["strategy share %"] = _num(r["strategy share %"])
        out["train s"] = _num(r["train s"])
        compute = r.get("compute") or {}
        out["extra runs"] = _num(compute.get("extra_runs"))
        out["extra steps"] = _num(compute.get("extra_steps"))
        out["extra tokens"] = _num(compute.get("extra_tokens"))
        out["train tokens"] = _num(compute.get("train_tokens"))
        out["extra compute kinds"] = " ".join(f"{k}:{v:g}" for k, v in (compute.get("kinds") or {}).items())
        out.update(_flops_fields(r))
        out.update(_regret_fields(r))
        tuning = r.get("tuning") or {}
        out["tuned"] = "yes" if tuning.get("tuned") else "no"
        out["tuning trials"] = tuning.get("trials", "")
        out["tuning study"] = tuning.get("study") or ""
        out["run ids"] = " ".join(str(x) for x in r.get("run_ids", []))
        writer.writerow(out)
    return buffer.getvalue()


def _flops_fields(r: dict[str, Any]) -> dict[str, str]:
    flops, target, at = r.get("total FLOPs"), r.get("flops_to_target"), r.get("at budget") or {}
    return {"total FLOPs mean": _num(flops and flops["mean"]),
            "total FLOPs per seed": " ".join(repr(float(v)) for v in flops["values"]) if flops else "",
            "FLOPs to target mean": _num(target and target["mean"]), "at budget FLOPs": _num(at.get("budget")),
            "at budget metric": at.get("metric") or "", "at budget mean": _num(at.get("value") and at["value"]["mean"])}


def _regret_fields(r: dict[str, Any]) -> dict[str, str]:
    regret = r.get("regret") or {}
    # the metrics this row is the oracle of ("avg ppl; mean excess loss" for a benchmark's only oracle)
    out = {"oracle": "; ".join(r.get("oracle_for") or []) or ("yes" if r.get("is_oracle") else "")}
    for column in ("avg ppl", "mean excess loss"):
        diff = regret.get(column)
        out[f"regret {column} mean"] = _num(diff and diff["mean"])
        out[f"regret {column} ci95"] = _num(diff and diff["ci95"])
    return out


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value))
