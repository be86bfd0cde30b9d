"""Declared strategy parameters.

A strategy declares its tunables as class attributes::

    class MaCrossover(Strategy):
        fast = Param(int, 10, min=1, max=500, help="fast moving average length, bars")

Why a descriptor rather than a plain ``__init__``: the same declaration gives us validation on
construction (with an error that names the parameter), JSON specs for ``/api/strategies/``, the
grid for a parameter sweep, and coercion of values that arrive as strings from a query string or
a CLI. Values are validated again on assignment, so a live strategy cannot be put into a state
its author never allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

_TYPE_NAMES = {int: "an int", float: "a float", bool: "a bool", str: "a str"}
_JSON_TYPES = {int: "int", float: "float", bool: "bool", str: "str"}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class ParameterError(ValueError):
    """A strategy parameter is unknown, of the wrong type or out of bounds.

    The message always starts with the parameter's name so an API can show it as is.
    """


class Param:
    """One declared parameter: type, default, inclusive bounds or choices, and help text."""

    __slots__ = ("type", "default", "min", "max", "choices", "help", "name")

    def __init__(
        self,
        type: type,  # noqa: A002 - reads naturally at the declaration site
        default: Any,
        min: float | None = None,  # noqa: A002
        max: float | None = None,  # noqa: A002
        choices: Sequence[Any] | None = None,
        help: str = "",  # noqa: A002
    ) -> None:
        if type not in _TYPE_NAMES:
            raise TypeError(f"Param type must be one of int, float, bool, str; got {type!r}")
        self.type = type
        self.min = min
        self.max = max
        self.choices = tuple(choices) if choices is not None else None
        self.help = help
        self.name = "?"
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    # Data descriptor: reads come from the instance dict, writes are validated.
    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        try:
            return instance.__dict__[self.name]
        except KeyError:
            return self.default

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.name] = self.validate(value)

    def describe(self) -> str:
        """Human description of the accepted values, used in error messages."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        what = _TYPE_NAMES[self.type]
        if self.min is not None and self.max is not None:
            return f"{what} between {_fmt(self.min)} and {_fmt(self.max)}"
        if self.min is not None:
            return f"{what} >= {_fmt(self.min)}"
        if self.max is not None:
            return f"{what} <= {_fmt(self.max)}"
        return what

    def _fail(self, value: Any) -> ParameterError:
        return ParameterError(f"{self.name} must be {self.describe()}, got {value!r}")

    def validate(self, value: Any) -> Any:
        """Coerce ``value`` to the declared type and check bounds; raise ParameterError."""
        raw = value  # errors quote what the caller sent, not our coercion of it
        value = self._coerce(value)
        if self.choices is not None and value not in self.choices:
            raise self._fail(raw)
        if self.type in (int, float):
            if self.min is not None and value < self.min:
                raise self._fail(raw)
            if self.max is not None and value > self.max:
                raise self._fail(raw)
        return value

    def _coerce(self, value: Any) -> Any:
        t = self.type
        if t is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise self._fail(value)
        if t is int:
            if isinstance(value, bool):
                raise self._fail(value)
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                try:
                    return int(value.strip())
                except ValueError:
                    raise self._fail(value) from None
            raise self._fail(value)
        if t is float:
            if isinstance(value, bool):
                raise self._fail(value)
            if isinstance(value, int | float):
                result = float(value)
            elif isinstance(value, str):
                try:
                    result = float(value.strip())
                except ValueError:
                    raise self._fail(value) from None
            else:
                raise self._fail(value)
            if not math.isfinite(result):
                raise self._fail(value)
            return result
        if not isinstance(value, str):
            raise self._fail(value)
        return value

    def spec(self) -> dict[str, Any]:
        """JSON-serialisable description for the registry and the API."""
        return {
            "name": self.name,
            "type": _JSON_TYPES[self.type],
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "choices": list(self.choices) if self.choices is not None else None,
            "help": self.help,
        }


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and not isinstance(x, float) else str(x)


def collect_params(cls: type) -> dict[str, Param]:
    """All Params declared on ``cls`` and its bases, base classes first, in declaration order.

    Also validates each default: a bad default is a programming error and should fail when
    the class is defined, not when someone first runs it.
    """
    found: dict[str, Param] = {}
    for klass in reversed(cls.__mro__):
        for name, attr in vars(klass).items():
            if isinstance(attr, Param):
                found[name] = attr
            elif name in found:
                # A subclass shadowed a parameter with a plain attribute: it is no longer one.
                del found[name]
    for param in found.values():
        param.default = param.validate(param.default)
    return found
