"""Name → strategy class. A new method registers itself with `@register_strategy`."""

from __future__ import annotations

from typing import Callable, TypeVar

from .base import MixingStrategy

_STRATEGIES: dict[str, type[MixingStrategy]] = {}

T = TypeVar("T", bound=type[MixingStrategy])


def register_strategy(name: str) -> Callable[[T], T]:
    def decorator(cls: T) -> T:
        if name in _STRATEGIES:
            raise ValueError(f"strategy {name!r} is already registered")
        cls.name = name
        _STRATEGIES[name] = cls
        return cls

    return decorator


def get_strategy_class(name: str) -> type[MixingStrategy]:
    if name not in _STRATEGIES:
        raise KeyError(f"unknown strategy {name!r}; known: {', '.join(sorted(_STRATEGIES))}")
    return _STRATEGIES[name]


def strategy_names() -> list[str]:
    return sorted(_STRATEGIES)
