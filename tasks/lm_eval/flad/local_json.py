"""lm-eval imports a `!function` module from the YAML's own directory: this one hands over the
parent directory's loader (tasks/lm_eval/local_json.py), so relative paths resolve against tasks/lm_eval/."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("_benchmark_lm_eval_local_json",
                                               Path(__file__).resolve().parent.parent / "local_json.py")
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
load = _module.load
