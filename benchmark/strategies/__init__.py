"""Mixing strategies. Importing this package registers every built-in method."""

from .base import DomainStats, MixingStrategy, StrategyConfigError
from .registry import get_strategy_class, register_strategy, strategy_names
from . import static, odm, exp3, flad_baselines, schedules, doremi  # noqa: F401  (registration side effects)

__all__ = ["DomainStats", "MixingStrategy", "StrategyConfigError", "get_strategy_class",
           "register_strategy", "strategy_names"]
