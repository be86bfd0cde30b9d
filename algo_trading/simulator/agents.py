"""The simulator's agents. Each decides, once per decision round, what orders to send.

Agents only act through an ``OrderClient`` (the exchange's real order path) and only see a
``MarketView`` and a ``Fundamental``. They keep the book sane on their own: a bounded number of
resting orders each, stale quotes moved (replace) or withdrawn (cancel), inventories capped,
and every limit price kept within ``band_pct`` of the exchange's reference price so the risk
gate's price collar (10% by default) never has a reason to refuse them.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import deque
from decimal import Decimal

from ..live.orders import OrderClient, OrderEvent, TrackedOrder
from .fundamental import Fundamental
from .view import MarketView


class Agent(ABC):
    """One agent trading one symbol under its account's OrderClient."""

    kind = "agent"

    def __init__(
        self,
        name: str,
        client: OrderClient,
        view: MarketView,
        fundamental: Fundamental,
        rng: random.Random,
        *,
        band_pct: float = 4.0,
    ) -> None:
        self.name = name
        self.client = client
        self.view = view
        self.symbol = view.symbol
        self.spec = view.spec
        self.fundamental = fundamental
        self.rng = rng
        self.band = band_pct / 100.0

    @property
    def position(self) -> int:
        return self.client.ledger(self.symbol).qty

    def resting(self) -> list[TrackedOrder]:
        return [o for o in self.client.open_orders(self.symbol) if not o.cancel_sent]

    @abstractmethod
    def act(self, now: float) -> None: ...

    def on_event(self, event: OrderEvent) -> None:
        """A refused replace leaves a stale quote: withdraw it."""
        if event.kind == "replace_rejected":
            self.client.cancel(event.order)

    def withdraw(self) -> None:
        for order in self.client.open_orders(self.symbol):
            self.client.cancel(order)

    # ------------------------------------------------------------------------------ helpers

    def anchor(self) -> float:
        """The fundamental, pulled inside the band around the exchange's reference price."""
        value = self.fundamental.value
        ref = self.view.reference
        if ref is None:
            return value
        ref_f = float(ref)
        return min(max(value, ref_f * (1 - self.band)), ref_f * (1 + self.band))

    def in_band(self, price: float, side: str) -> Decimal | None:
        ref = self.view.reference
        if ref is not None:
            ref_f = float(ref)
            price = min(max(price, ref_f * (1 - self.band)), ref_f * (1 + self.band))
        try:
            return self.spec.round_price(price, side)
        except ValueError:
            return None

    def lots(self, qty: int) -> int:
        lot = self.spec.lot_size
        return max(lot, (qty // lot) * lot)


class MarketMaker(Agent):
    """Quotes ``levels`` bids and asks around the anchor, skewed against its inventory.

    A quote is moved (``order.replace``) once it is ``requote_bps`` off target, re-sent when it
    filled, and pulled on a side where the inventory is at ``max_inventory``.
    """

    kind = "mm"

    def __init__(
        self,
        *args,
        levels: int = 2,
        size: int = 100,
        spread_bps: float = 10.0,
        level_ticks: int = 2,
        requote_bps: float = 3.0,
        max_inventory: int = 2_000,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.levels = levels
        self.size = size
        self.spread = spread_bps / 1e4
        self.level_ticks = level_ticks
        self.requote = requote_bps / 1e4
        self.max_inventory = max_inventory
        self.quotes: dict[tuple[str, int], TrackedOrder] = {}

    def targets(self) -> dict[tuple[str, int], Decimal | None]:
        tick = float(self.spec.tick_size)
        center = self.anchor()
        half = max(tick, center * self.spread / 2)
        pos = self.position
        center -= (pos / self.max_inventory) * 2 * half  # lean against the inventory
        out: dict[tuple[str, int], Decimal | None] = {}
        for k in range(self.levels):
            step = k * self.level_ticks * tick
            bid = self.in_band(center - half - step, "buy") if pos < self.max_inventory else None
            ask = self.in_band(center + half + step, "sell") if pos > -self.max_inventory else None
            out[("buy", k)], out[("sell", k)] = bid, ask
        return out

    def act(self, now: float) -> None:
        tick = self.spec.tick_size
        for slot, price in self.targets().items():
            order = self.quotes.get(slot)
            live = order is not None and order.is_open and not order.cancel_sent
            if price is None:
                if live:
                    self.client.cancel(order)
                continue
            if not live:
                side = slot[0]
                size = self.lots(self.size)
                self.quotes[slot] = self.client.submit(self.symbol, side, size, price, "gtc")
                continue
            if order.status == "pending" or order.limit_price is None:
                continue
            off = abs(order.limit_price - price)
            if off >= tick and float(off) >= float(price) * self.requote:
                self.client.replace(order, limit_price=price)


class NoiseTrader(Agent):
    """Random market and limit orders, some marketable; old or surplus limits are cancelled."""

    kind = "noise"

    def __init__(
        self,
        *args,
        activity: float = 0.5,
        max_qty: int = 50,
        market_share: float = 0.4,
        max_resting: int = 3,
        max_age: float = 30.0,
        max_inventory: int = 1_500,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.activity = activity
        self.max_qty = max_qty
        self.market_share = market_share
        self.max_resting = max_resting
        self.max_age = max_age
        self.max_inventory = max_inventory
        self.placed: dict[str, float] = {}

    def act(self, now: float) -> None:
        self._tidy(now)
        if self.rng.random() >= self.activity:
            return
        pos = self.position
        side = self.rng.choice(("buy", "sell"))
        if pos >= self.max_inventory:
            side = "sell"
        elif pos <= -self.max_inventory:
            side = "buy"
        qty = self.lots(self.rng.randint(1, max(self.max_qty, 1)))
        if self.rng.random() < self.market_share:
            self.client.submit(self.symbol, side, qty)
            return
        mid = self.view.mid()
        base = float(mid) if mid is not None else self.anchor()
        offset = self.rng.randint(-3, 8) * float(self.spec.tick_size)  # > 0: passive
        price = self.in_band(base - offset if side == "buy" else base + offset, side)
        if price is not None:
            order = self.client.submit(self.symbol, side, qty, price, "gtc")
            self.placed[order.id] = now

    def _tidy(self, now: float) -> None:
        resting = self.resting()
        live_ids = {o.id for o in resting}
        self.placed = {k: v for k, v in self.placed.items() if k in live_ids}
        resting.sort(key=lambda o: self.placed.get(o.id, now))
        surplus = len(resting) - self.max_resting
        for k, order in enumerate(resting):
            if k < surplus or now - self.placed.get(order.id, now) > self.max_age:
                self.client.cancel(order)


class MomentumTrader(Agent):
    """Buys after a rise and sells after a fall of ``threshold_bps`` over ``lookback`` seconds;
    unwinds while the market is flat. Market orders only, with a cooldown between trades."""

    kind = "mom"

    def __init__(
        self,
        *args,
        activity: float = 0.5,
        lookback: float = 20.0,
        threshold_bps: float = 8.0,
        qty: int = 100,
        max_inventory: int = 1_000,
        cooldown: float = 5.0,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.activity = activity
        self.lookback = lookback
        self.threshold = threshold_bps / 1e4
        self.qty = qty
        self.max_inventory = max_inventory
        self.cooldown = cooldown
        self.last_trade_at = float("-inf")
        self.samples: deque[tuple[float, float]] = deque()

    def change(self, now: float) -> float | None:
        """The exchange's trade-price change; the fundamental's while the market is quiet."""
        change = self.view.change_since(self.lookback, now)
        if change is not None:
            return change
        self.samples.append((now, self.fundamental.value))
        while self.samples and self.samples[0][0] < now - self.lookback:
            self.samples.popleft()
        if len(self.samples) < 2 or self.samples[0][1] <= 0:
            return None
        return self.samples[-1][1] / self.samples[0][1] - 1.0

    def act(self, now: float) -> None:
        change = self.change(now)
        if change is None or now - self.last_trade_at < self.cooldown:
            return
        if self.rng.random() >= self.activity:
            return
        pos = self.position
        qty = self.lots(self.qty)
        if change > self.threshold and pos + qty <= self.max_inventory:
            side = "buy"
        elif change < -self.threshold and pos - qty >= -self.max_inventory:
            side = "sell"
        elif abs(change) < self.threshold / 3 and pos != 0:
            side, qty = ("sell" if pos > 0 else "buy"), self.lots(min(abs(pos), qty))
        else:
            return
        self.client.submit(self.symbol, side, qty)
        self.last_trade_at = now
