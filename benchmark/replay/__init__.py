"""The replay track: score offline mixture predictors on real, published proxy-run logs.

A predictor is fitted on the mixtures and measured target losses of small training runs (RegMix's
512 runs of 1M-parameter models by default) and then ranks unseen test mixtures whose losses were
measured at larger scale (1M, 60M, 1B). `python -m benchmark replay` prints the scores; see
docs/replay.md.
"""

from .data import ReplayData, ReplayDataError, Split, default_data_dir, load_replay_data, resolve_target
from .registry import BUILTIN_PREDICTORS, create_predictor, resolve_predictor
from .runner import ReplayResult, run_replay
from .scoring import Score, random_expectation, score_predictions

__all__ = [
    "BUILTIN_PREDICTORS", "ReplayData", "ReplayDataError", "ReplayResult", "Score", "Split", "create_predictor",
    "default_data_dir", "load_replay_data", "random_expectation", "resolve_predictor", "resolve_target",
    "run_replay", "score_predictions",
]
