"""Moving average, 1-minute change and move alerts over a stream of price ticks.

`PriceStats` is pure (time is passed in, never read) so that it is tested on hand-made tick
sequences. Every window is a deque with running aggregates, so each tick costs O(1) amortised
whatever the tick rate: a running sum for the average, monotonic deques for the window's min and
max (each price enters and leaves each deque once).

Alert rule: the price has moved `threshold_pct` or more away from the lowest (up move) or highest
(down move) price seen within the last `alert_window` seconds. After an alert the min/max windows
restart from the alerting price, so one jump gives one alert rather than one per tick for a
minute; a further move of the threshold from there alerts again.

A change of source (the feed failing over between the exchange, yfinance and the simulation,
or a cached exchange quote followed by the feed's ticks on connect) restarts the alert window
and the 1-minute change from the new source's first price: two sources' levels differ, and that
difference is not a move of the market. The moving average keeps its window.

`PriceStreamHub` keeps one PriceStats per symbol for the whole process: the 1,000 consumers of a
ticker share one computation and one encoded frame per tick, and a client connecting later gets
the average of what the process has already seen.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import orjson

from trading_app.money import format_price

HUNDRED = Decimal(100)
PCT_PLACES = Decimal("0.01")
MA_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Alert:
    direction: str  # "up" | "down"
    change_pct: Decimal  # signed, 2 places
    reference_price: Decimal  # the window's low (up) or high (down)
    reference_at: float
    price: Decimal
    at: float


@dataclass(frozen=True, slots=True)
class Observation:
    moving_average: Decimal | None
    change_pct: Decimal | None  # vs the oldest price within the alert window
    alert: Alert | None


def _pct(price: Decimal, reference: Decimal) -> Decimal:
    return ((price - reference) * HUNDRED / reference).quantize(PCT_PLACES)


class PriceStats:
    """Per-symbol statistics; feed it ticks in time order with `observe(price, at)`."""

    def __init__(
        self,
        *,
        ma_window: float = 300.0,
        alert_window: float = 60.0,
        threshold_pct: Decimal = Decimal("2"),
    ) -> None:
        self.ma_window = ma_window
        self.alert_window = alert_window
        self.threshold = Decimal(threshold_pct)
        self._ma: deque[tuple[float, Decimal, int]] = deque()  # (at, sum of prices, count)
        self._ma_sum = Decimal(0)
        self._ma_count = 0
        self._recent: deque[tuple[float, Decimal]] = deque()  # for the 1-minute change
        self._lows: deque[tuple[float, Decimal]] = deque()  # increasing prices
        self._highs: deque[tuple[float, Decimal]] = deque()  # decreasing prices
        self.last_at: float | None = None
        self.source: str | None = None

    def observe(self, price: Decimal, at: float, source: str | None = None) -> Observation:
        """Add a tick at time `at` (seconds, any epoch); a tick older than the last counts as now.

        A tick from another `source` than the previous one restarts the alert window (and the
        1-minute change) at its price instead of comparing the two sources' prices.
        """
        if self.last_at is not None and at < self.last_at:
            at = self.last_at
        self.last_at = at
        if source is not None:
            if self.source is not None and source != self.source:
                self._recent.clear()
                self._lows.clear()
                self._highs.clear()
            self.source = source

        self._ma.append((at, price, 1))
        self._ma_sum += price
        self._ma_count += 1
        self._evict_average(at)
        average = (self._ma_sum / self._ma_count).quantize(MA_PLACES)

        horizon = at - self.alert_window
        recent = self._recent
        recent.append((at, price))
        while recent[0][0] < horizon:
            recent.popleft()
        change = _pct(price, recent[0][1]) if len(recent) > 1 else None

        self._push_extremes(price, at, horizon)
        return Observation(average, change, self._alert(price, at))

    def backfill(self, buckets: Iterable[tuple[float, Decimal, int]]) -> int:
        """Add the feed's per-second history (start, sum of prices, tick count), oldest first, to
        the moving average; return how many buckets were new.

        For a process that was not receiving a symbol's ticks (no subscriber here until now):
        the average covers its whole window at once instead of warming up from the next tick.
        Only buckets that start after the last tick seen are taken, so no tick counts twice.
        The alert window and the 1-minute change start from live ticks only.
        """
        added = 0
        for start, total, count in buckets:
            if count <= 0 or (self.last_at is not None and start <= self.last_at):
                continue
            self._ma.append((start, total, count))
            self._ma_sum += total
            self._ma_count += count
            self.last_at = start
            added += 1
        if added:
            self._evict_average(self.last_at)
        return added

    def _evict_average(self, now: float) -> None:
        horizon = now - self.ma_window
        ma = self._ma
        while ma and ma[0][0] < horizon:
            _at, total, count = ma.popleft()
            self._ma_sum -= total
            self._ma_count -= count

    def _push_extremes(self, price: Decimal, at: float, horizon: float) -> None:
        lows, highs = self._lows, self._highs
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((at, price))
        while highs and highs[-1][1] <= price:
            highs.pop()
        highs.append((at, price))
        while lows[0][0] < horizon:
            lows.popleft()
        while highs[0][0] < horizon:
            highs.popleft()

    def _alert(self, price: Decimal, at: float) -> Alert | None:
        low_at, low = self._lows[0]
        high_at, high = self._highs[0]
        up = _pct(price, low)
        down = _pct(price, high)
        if up >= self.threshold and up >= -down:
            alert = Alert("up", up, low, low_at, price, at)
        elif -down >= self.threshold:
            alert = Alert("down", down, high, high_at, price, at)
        else:
            return None
        # Re-arm from here: the same move must not alert again on every following tick.
        self._lows.clear()
        self._highs.clear()
        self._lows.append((at, price))
        self._highs.append((at, price))
        return alert


def _dumps(message: dict) -> str:
    return orjson.dumps(message).decode()


def _number(value: Decimal) -> int | str:
    """Integral settings stay JSON numbers (as in the contract); fractional ones are strings."""
    return int(value) if value == value.to_integral_value() else format(value.normalize(), "f")


class PriceStreamHub:
    """Process-wide: ticks in (as channel layer messages), encoded client frames out."""

    RECENT_TICKS = 256  # consumers lagging further behind than this recompute (harmlessly)

    def __init__(
        self,
        *,
        ma_window: float = 300.0,
        alert_window: float = 60.0,
        threshold_pct: Decimal = Decimal("2"),
    ) -> None:
        self.ma_window = ma_window
        self.alert_window = alert_window
        self.threshold = Decimal(threshold_pct)
        self._stats: dict[str, PriceStats] = {}
        self._frames: dict[str, OrderedDict[tuple, list[str]]] = {}
        self._latest: dict[str, str] = {}

    def latest_frame(self, symbol: str) -> str | None:
        """The last `price` frame of a symbol, for a client that just connected."""
        return self._latest.get(symbol)

    def last_at(self, symbol: str) -> float | None:
        """When (epoch seconds) the last tick of a symbol that this hub observed was priced."""
        stats = self._stats.get(symbol)
        return None if stats is None else stats.last_at

    def backfill(self, symbol: str, buckets: Iterable[tuple[float, Decimal, int]]) -> int:
        """Seed a symbol's moving average from the feed's history (see PriceStats.backfill)."""
        return self._stats_of(symbol).backfill(buckets)

    def _stats_of(self, symbol: str) -> PriceStats:
        stats = self._stats.get(symbol)
        if stats is None:
            stats = self._stats[symbol] = PriceStats(
                ma_window=self.ma_window,
                alert_window=self.alert_window,
                threshold_pct=self.threshold,
            )
        return stats

    def observe(self, tick: dict) -> list[str]:
        """The frames for one `price.tick` message: a price frame, plus an alert frame if any.

        The same tick delivered to many consumers is computed once: later deliveries get the
        cached frames. Raises ValueError on a malformed tick.
        """
        symbol = tick["symbol"]
        key = (tick["timestamp"], tick["price"], tick.get("source"))
        frames = self._frames.setdefault(symbol, OrderedDict())
        cached = frames.get(key)
        if cached is not None:
            return cached
        try:
            price = Decimal(tick["price"])
            at = datetime.fromisoformat(tick["timestamp"]).timestamp()
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise ValueError(f"malformed price tick: {exc}") from exc
        seen = self._stats_of(symbol).observe(price, at, tick.get("source"))
        out = [_dumps(self.price_message(tick, seen))]
        if seen.alert is not None:
            out.append(_dumps(self.alert_message(symbol, tick["timestamp"], seen.alert)))
        self._latest[symbol] = out[0]
        frames[key] = out
        if len(frames) > self.RECENT_TICKS:
            frames.popitem(last=False)
        return out

    def price_message(self, tick: dict, seen: Observation) -> dict:
        return {
            "type": "price",
            "symbol": tick["symbol"],
            "price": tick["price"],
            "timestamp": tick["timestamp"],
            "source": tick.get("source"),
            "volume": tick.get("volume", 0),
            "moving_average": format_price(seen.moving_average),
            "moving_average_window_seconds": _number(Decimal(self.ma_window)),
            "change_pct_1m": None if seen.change_pct is None else str(seen.change_pct),
        }

    def alert_message(self, symbol: str, timestamp: str, alert: Alert) -> dict:
        window = _number(Decimal(self.alert_window))
        threshold = _number(self.threshold)
        seconds = max(0, round(alert.at - alert.reference_at))
        return {
            "type": "alert",
            "symbol": symbol,
            "price": format_price(alert.price),
            "change_pct": str(alert.change_pct),
            "direction": alert.direction,
            "reference_price": format_price(alert.reference_price),
            "window_seconds": window,
            "threshold_pct": threshold,
            "message": (
                f"{symbol} {alert.direction} {abs(alert.change_pct)}% in {seconds}s "
                f"({format_price(alert.reference_price)} -> {format_price(alert.price)})"
            ),
            "timestamp": timestamp,
        }


_hub: PriceStreamHub | None = None


def get_hub() -> PriceStreamHub:
    """The process's hub, configured from PRICE_MA_WINDOW_SECONDS and the PRICE_ALERT_* settings."""
    global _hub
    if _hub is None:
        from django.conf import settings

        _hub = PriceStreamHub(
            ma_window=float(getattr(settings, "PRICE_MA_WINDOW_SECONDS", 300)),
            alert_window=float(getattr(settings, "PRICE_ALERT_WINDOW_SECONDS", 60)),
            threshold_pct=Decimal(str(getattr(settings, "PRICE_ALERT_THRESHOLD_PCT", 2))),
        )
    return _hub


def reset_hub() -> None:
    """Forget every symbol's statistics (tests; settings changes)."""
    global _hub
    _hub = None
