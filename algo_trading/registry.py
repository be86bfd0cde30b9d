"""Strategy registry: name -> class, plus JSON specs for ``/api/strategies/``.

The built-in strategies register themselves when ``algo_trading.strategies`` is imported; the
registry imports that package lazily on first lookup so ``registry.get("ma_crossover")`` works
without the caller knowing where strategies live (and without an import cycle).
"""

from __future__ import annotations

import builtins
import importlib
from typing import Any, TypeVar

from .strategy import Strategy

S = TypeVar("S", bound=type[Strategy])

_REGISTRY: dict[str, type[Strategy]] = {}
_loaded = False


class UnknownStrategyError(KeyError):
    """No strategy is registered under that name."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown strategy"


def register(cls: S) -> S:
    """Class decorator: register a Strategy subclass under its ``name``."""
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError(f"only Strategy subclasses can be registered, got {cls!r}")
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty 'name' class attribute")
    existing = _REGISTRY.get(cls.name)
    # Re-registering the same class (a module reloaded in tests or autoreload) is fine.
    same = existing is not None and (existing.__module__, existing.__qualname__) == (
        cls.__module__,
        cls.__qualname__,
    )
    if existing is not None and not same:
        raise ValueError(f"strategy name {cls.name!r} is already registered by {existing}")
    _REGISTRY[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a registration (tests register throwaway strategies)."""
    _REGISTRY.pop(name, None)


def _ensure_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module("algo_trading.strategies")


def get(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``; UnknownStrategyError lists the valid names."""
    _ensure_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownStrategyError(f"unknown strategy {name!r}; available: {known}") from None


def create(name: str, params: dict[str, Any] | None = None) -> Strategy:
    """Instantiate a registered strategy with validated parameters."""
    return get(name)(**(params or {}))


def names() -> builtins.list[str]:
    _ensure_builtins()
    return sorted(_REGISTRY)


def describe(cls: type[Strategy]) -> dict[str, Any]:
    return {
        "name": cls.name,
        "description": cls.description,
        "vectorisable": cls.vectorisable,
        "params": cls.param_specs(),
    }


def list() -> builtins.list[dict[str, Any]]:  # noqa: A001 - the public name the API uses
    """Every registered strategy as ``{name, description, vectorisable, params: [...]}``."""
    _ensure_builtins()
    return [describe(_REGISTRY[name]) for name in sorted(_REGISTRY)]
