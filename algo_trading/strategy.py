"""The Strategy base class: hooks a strategy overrides, helpers it calls.

A strategy is written once against this class and a ``Broker``; the mode (backtest, live,
replay) is decided by whoever binds it. It sees the world only through:

* hooks: ``on_start``, ``on_bar(bar)``, ``on_tick(tick)``, ``on_fill(fill)``, ``on_stop``;
* state: ``position``, ``cash``, ``equity``, ``history`` (past bars only), ``now``;
* orders: ``buy``, ``sell``, ``close``, ``cancel``, ``order_target``, ``set_direction``.

Parameters are declared with ``Param`` and validated on construction, so a bad request fails
before any data is touched. Strategies whose decision at each bar is a pure function of past
bars may also implement ``target_directions`` to get the vectorised fast path; the contract is
that it returns exactly the directions their ``on_bar`` passes to ``set_direction``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from .broker import Broker
from .history import History
from .models import BUY, SELL, Bar, Fill, Order, Tick
from .params import Param, ParameterError, collect_params
from .sizing import FractionOfEquity, Sizer


class StrategyNotBoundError(RuntimeError):
    """A strategy helper was used before the strategy was bound to a broker."""


class _Unbound:
    """Stands in for a broker until ``bind``: every use raises a clear error.

    A sentinel instead of ``None`` keeps the hot helpers free of a None check per call.
    """

    def __getattr__(self, name: str) -> Any:
        raise StrategyNotBoundError("strategy is not bound to a broker (call bind() first)")


_UNBOUND: Any = _Unbound()


class Strategy:
    """Base class of every strategy. Subclass, declare Params, override hooks."""

    #: registry key, e.g. "ma_crossover"
    name: ClassVar[str] = ""
    #: one line for the API; defaults to the first line of the class docstring
    description: ClassVar[str] = ""
    #: how many past bars ``history`` keeps; override (or make it a property) as needed
    history_size: int = 100

    _params: ClassVar[dict[str, Param]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._params = collect_params(cls)
        if not cls.__dict__.get("description"):
            doc = (cls.__doc__ or "").strip()
            cls.description = doc.splitlines()[0] if doc else ""

    def __init__(self, **params: Any) -> None:
        known = self._params
        for key in params:
            if key not in known:
                expected = ", ".join(known) or "no parameters"
                raise ParameterError(
                    f"{key} is not a parameter of {self.name or type(self).__name__}; "
                    f"expected: {expected}"
                )
        for key, spec in known.items():
            setattr(self, key, params.get(key, spec.default))
        self.validate()
        self._broker: Broker = _UNBOUND
        self._history: History | None = None
        self._sizer: Sizer = FractionOfEquity(1.0)

    # ----- parameters ------------------------------------------------------------------
    def validate(self) -> None:
        """Cross-parameter checks (e.g. fast < slow); raise ParameterError naming them."""

    @classmethod
    def param_specs(cls) -> list[dict[str, Any]]:
        """JSON-serialisable parameter specs, in declaration order."""
        return [p.spec() for p in cls._params.values()]

    @property
    def params(self) -> dict[str, Any]:
        """The validated parameter values of this instance."""
        return {key: getattr(self, key) for key in self._params}

    @classmethod
    def param_names(cls) -> list[str]:
        return list(cls._params)

    # ----- binding ---------------------------------------------------------------------
    def bind(self, broker: Broker, history: History, sizer: Sizer | None = None) -> None:
        """Attach the mode: called by the backtester or an adapter before ``on_start``."""
        self._broker = broker
        self._history = history
        if sizer is not None:
            self._sizer = sizer

    # ----- hooks -----------------------------------------------------------------------
    def on_start(self) -> None:
        """Called once before the first bar: reset incremental state here."""

    def on_bar(self, bar: Bar) -> None:
        """Called once per completed bar; ``history`` ends at this bar."""

    def on_tick(self, tick: Tick) -> None:
        """Called per tick in modes that have ticks (live, tick replay); bars-only ignore it."""

    def on_fill(self, fill: Fill) -> None:
        """Called when one of this strategy's orders executes, before the next ``on_bar``."""

    def on_stop(self) -> None:
        """Called once after the last bar."""

    # ----- state -----------------------------------------------------------------------
    @property
    def position(self) -> int:
        return self._broker.position()

    @property
    def cash(self) -> float:
        return self._broker.cash()

    @property
    def equity(self) -> float:
        return self._broker.equity()

    @property
    def now(self) -> datetime:
        return self._broker.now()

    @property
    def history(self) -> History:
        if self._history is None:
            raise StrategyNotBoundError(f"{type(self).__name__} has no history bound")
        return self._history

    @property
    def open_orders(self) -> list[Order]:
        return self._broker.open_orders()

    # ----- orders ----------------------------------------------------------------------
    def buy(
        self, qty: int | None = None, limit: float | None = None, tag: str = ""
    ) -> Order | None:
        """Buy ``qty`` shares (default: the sizer's quantity) at market or at ``limit``."""
        if qty is None:
            qty = self.size()
            if qty <= 0:
                return None
        return self._broker.submit_order(BUY, qty, limit, tag)

    def sell(
        self, qty: int | None = None, limit: float | None = None, tag: str = ""
    ) -> Order | None:
        """Sell ``qty`` shares (default: the sizer's quantity) at market or at ``limit``."""
        if qty is None:
            qty = self.size()
            if qty <= 0:
                return None
        return self._broker.submit_order(SELL, qty, limit, tag)

    def cancel(self, order: Order) -> bool:
        return self._broker.cancel_order(order)

    def close(self) -> Order | None:
        """Flatten: cancel resting orders, then a market order for the whole position."""
        broker = self._broker
        for order in broker.open_orders():
            broker.cancel_order(order)
        pos = broker.position()
        if pos > 0:
            return broker.submit_order(SELL, pos, None, "close")
        if pos < 0:
            return broker.submit_order(BUY, -pos, None, "close")
        return None

    def pending_qty(self) -> int:
        """Signed quantity of orders submitted but not yet filled."""
        orders = self._broker.open_orders()
        return sum(o.signed_qty for o in orders) if orders else 0

    def order_target(self, target: int, limit: float | None = None) -> Order | None:
        """Submit whatever order moves position (plus pending orders) to ``target`` shares."""
        broker = self._broker
        orders = broker.open_orders()
        pending = sum(o.signed_qty for o in orders) if orders else 0
        delta = target - broker.position() - pending
        if delta > 0:
            return broker.submit_order(BUY, delta, limit)
        if delta < 0:
            return broker.submit_order(SELL, -delta, limit)
        return None

    def size(self) -> int:
        """Shares the configured sizer allows at the current bar's close."""
        hist = self.history
        closes = hist.tail("close", self._sizer.window)
        if len(closes) == 0:
            return 0
        return self._sizer.quantity(float(closes[-1]), self.equity, closes)

    def set_direction(self, direction: int) -> Order | None:
        """Go long (1), flat (0) or short (-1) with the sizer's quantity, at market.

        The vectorised engine reproduces exactly this, so strategies that expose
        ``target_directions`` must trade only through this helper.
        """
        if direction == 0:
            return self.order_target(0)
        return self.order_target(direction * self.size())

    # ----- vectorised fast path ----------------------------------------------------------
    #: True on classes that implement ``target_directions``
    vectorisable: ClassVar[bool] = False

    def target_directions(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        """Direction (-1, 0, 1) decided at each bar's close from bars <= that bar."""
        raise NotImplementedError(f"{type(self).__name__} has no vectorised form")
