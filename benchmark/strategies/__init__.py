"""Mixing strategies. Built-in methods are listed in benchmark/registry.py and imported on first use."""

from __future__ import annotations

from .. import registry
from .base import DomainStats, MixingStrategy, StrategyConfigError


def get_strategy_class(name: str) -> type[MixingStrategy]:
    """A registered name, an entry point of group `benchmark.strategies`, or "package.module:Class"."""
    cls = registry.resolve("strategies", name)
    if not (isinstance(cls, type) and issubclass(cls, MixingStrategy)):
        raise registry.ConfigError(f"strategy: {name!r} is not a MixingStrategy subclass")
    return cls


def strategy_names() -> list[str]:
    return registry.names("strategies")


__all__ = ["DomainStats", "MixingStrategy", "StrategyConfigError", "get_strategy_class", "strategy_names"]
