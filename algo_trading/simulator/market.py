"""``MarketSimulator``: the agents of every symbol, their accounts' order clients, the pacing.

Messages from the channel layer are routed here: execution reports to the order client (and
agent) that owns the order, ``market.update`` to the symbol's view, feed ticks to its
fundamental. Every ``1 / rate`` seconds a decision round lets each symbol's agents act. On the
way out every agent withdraws its resting orders, so a stopped simulator leaves no stale book.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal

from trading_app.groups import account_group, market_group, prices_group

from ..live.orders import InstrumentSpec, OrderClient, OrderEvent
from .agents import Agent, MarketMaker, MomentumTrader, NoiseTrader
from .fundamental import Fundamental
from .view import MarketView

KINDS = {"mm": MarketMaker, "noise": NoiseTrader, "mom": MomentumTrader}


@dataclass
class SimulatorConfig:
    rate: float = 2.0  # decision rounds per second, per symbol
    seed: int | str = 0
    market_makers: int = 2
    noise_traders: int = 2
    momentum_traders: int = 1
    volatility: float = 1.0  # annualised, for the GBM used while no feed runs
    band_pct: float = 4.0  # limit prices stay this close to the exchange's reference price
    mm_levels: int = 2
    mm_size: int = 100
    mm_spread_bps: float = 10.0
    noise_activity: float = 0.5
    cash: str = "10000000"

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be positive, got {self.rate!r}")
        for name in ("market_makers", "noise_traders", "momentum_traders"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be zero or more")
        if self.market_makers + self.noise_traders + self.momentum_traders == 0:
            raise ValueError("no agents: give at least one market maker, noise or momentum trader")

    def accounts(self) -> list[tuple[str, str]]:
        """(username, kind) of every agent account: sim_mm1, sim_noise1, sim_mom1..."""
        counts = (
            ("mm", self.market_makers),
            ("noise", self.noise_traders),
            ("mom", self.momentum_traders),
        )
        return [(f"sim_{kind}{k}", kind) for kind, n in counts for k in range(1, n + 1)]

    def as_dict(self) -> dict:
        return asdict(self)


class MarketSimulator:
    def __init__(
        self,
        config: SimulatorConfig,
        specs: dict[str, InstrumentSpec],
        clients: dict[str, OrderClient],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.specs = specs
        self.clients = clients
        self.clock = clock
        self.views = {s: MarketView(spec) for s, spec in specs.items()}
        self.fundamentals = {
            s: Fundamental(
                float(spec.reference_price or 100),
                self._rng(f"fundamental:{s}"),
                volatility=config.volatility,
            )
            for s, spec in specs.items()
        }
        self.agents: list[Agent] = []
        self._by_owner: dict[tuple[int, str], Agent] = {}
        kinds = dict(config.accounts())
        for username, client in clients.items():
            for symbol in specs:
                agent = self._agent(kinds[username], username, client, symbol)
                self.agents.append(agent)
                self._by_owner[(id(client), symbol)] = agent
        self.rounds = 0
        self.messages = 0

    def _rng(self, name: str) -> random.Random:
        return random.Random(f"{self.config.seed}:{name}")  # str seeds are stable everywhere

    def _agent(self, kind: str, username: str, client: OrderClient, symbol: str) -> Agent:
        cfg = self.config
        common = {"band_pct": cfg.band_pct}
        if kind == "mm":
            extra = {"levels": cfg.mm_levels, "size": cfg.mm_size, "spread_bps": cfg.mm_spread_bps}
        elif kind == "noise":
            extra = {"activity": cfg.noise_activity}
        else:
            extra = {}
        return KINDS[kind](
            username,
            client,
            self.views[symbol],
            self.fundamentals[symbol],
            self._rng(f"{username}:{symbol}"),
            **common,
            **extra,
        )

    # ------------------------------------------------------------------------------ wiring

    @property
    def groups(self) -> list[str]:
        groups = [account_group(c.account_id) for c in self.clients.values()]
        for symbol in self.specs:
            groups += [market_group(symbol), prices_group(symbol)]
        return groups

    def handle(self, message: dict, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self.messages += 1
        kind = message.get("type")
        if kind == "trade.updates":
            for update in message.get("updates") or ():
                self._report(update)
        elif kind == "market.update":
            view = self.views.get(message.get("symbol"))
            if view is not None:
                view.apply(message, now)
        elif kind == "price.tick":
            fundamental = self.fundamentals.get(message.get("symbol"))
            if fundamental is not None and message.get("source") != "exchange":
                # ticks sourced from our own exchange would make agents chase themselves
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    fundamental.observe_feed(float(message["price"]), now)

    def _report(self, update: dict) -> None:
        order_id = str((update.get("order") or {}).get("id") or update.get("id"))
        for client in self.clients.values():
            if order_id in client.orders:
                event = client.apply(update)
                if event is not None:
                    self._route(client, event)
                return

    def _route(self, client: OrderClient, event: OrderEvent) -> None:
        agent = self._by_owner.get((id(client), event.order.symbol))
        if agent is not None:
            agent.on_event(event)

    # ------------------------------------------------------------------------------ pacing

    def round(self, now: float | None = None) -> None:
        """One decision round: fundamentals step, every agent of every symbol may act."""
        now = self.clock() if now is None else now
        self.rounds += 1
        for fundamental in self.fundamentals.values():
            fundamental.step(now)
        for agent in self.agents:
            agent.act(now)

    def due(self) -> None:
        for client in self.clients.values():
            for event in client.due():
                self._route(client, event)

    def withdraw_all(self) -> None:
        for agent in self.agents:
            agent.withdraw()

    def open_orders(self) -> int:
        return sum(len(c.open_orders()) for c in self.clients.values())

    def status_line(self) -> str:
        submitted = sum(c.stats.submitted for c in self.clients.values())
        fills = sum(c.stats.fills for c in self.clients.values())
        rejected = sum(c.stats.rejected for c in self.clients.values())
        prices = []
        for symbol, view in self.views.items():
            last = view.last if view.last is not None else Decimal("NaN")
            prices.append(f"{symbol} {last} ({view.bid}/{view.ask})")
        line = (
            f"sim: {self.rounds} rounds, {submitted} orders, {fills} fills, {rejected} rejected, "
            f"{self.open_orders()} resting | " + ", ".join(prices)
        )
        last_reject = next(
            (c.stats.last_reject for c in self.clients.values() if c.stats.last_reject), ""
        )
        return line + (f" | last reject: {last_reject}" if last_reject else "")

    async def run(
        self,
        transport,
        stop: asyncio.Event,
        *,
        startup: Iterable[tuple[str, dict]] = (),
        progress: Callable[[str], None] | None = None,
        progress_every: float = 10.0,
        drain_seconds: float = 3.0,
    ) -> None:
        """Trade until ``stop``; then withdraw every resting order and wait for the reports."""
        await transport.subscribe(self.groups)
        for channel, message in startup:
            transport.send(channel, message)
        await transport.flush()
        interval = 1.0 / self.config.rate
        next_round = self.clock()
        next_progress = self.clock() + progress_every
        try:
            while not stop.is_set():
                now = self.clock()
                if now >= next_round:
                    self.round(now)
                    next_round = max(next_round + interval, now + interval / 4)
                self.due()
                await transport.flush()
                if progress is not None and now >= next_progress:
                    progress(self.status_line())
                    next_progress = now + progress_every
                wait = min(max(next_round - self.clock(), 0.0), 0.25)
                message = await transport.receive(wait)
                while message is not None:
                    self.handle(message)
                    message = transport.receive_nowait()
        finally:
            self.withdraw_all()
            await transport.flush()
            until = time.monotonic() + drain_seconds
            while self.open_orders() and time.monotonic() < until:
                message = await transport.receive(0.1)
                if message is not None:
                    with contextlib.suppress(Exception):
                        self.handle(message)
                self.due()
                await transport.flush()
            await transport.close()
