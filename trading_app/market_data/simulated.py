"""The offline default: geometric Brownian motion with occasional jumps, seeded per symbol.

Pure diffusion at realistic volatility almost never moves a stock 2% in a minute, so a demo would
never show an alert; Poisson jumps of a few percent (by default about one per symbol every two
minutes) make the alert path visible within minutes while the chart still looks like a stock.
Unbiased jumps of 3% twice a minute would also make a random walk of some 17% an hour (a demo
left running an afternoon would double or halve its prices), so a jump leans back towards the
price the symbol started from (or last followed): near it up and down are equally likely, 5%
above it a jump goes down 7 times in 10. The diffusion itself is left alone.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from trading_app.market_data.base import MarketDataProvider
from trading_app.market_data.ticks import Tick, quantize_to_tick

#: seconds in a trading year (252 days x 6.5 h): annualised volatility is quoted per this
TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
#: the longest step one tick may stand for: after a pause the model does not leap a whole day
MAX_STEP_SECONDS = 10.0
#: how strongly a jump leans back to the anchor: P(up) = 0.5 - this x log(price / anchor)
JUMP_REVERSION = 4.0
#: a jump is never more certain than this to go either way
JUMP_MAX_ODDS = 0.9


@dataclass(frozen=True, slots=True)
class SeedInstrument:
    """What the simulation needs of an instrument: where to start and the price grid.

    `reference_price` is the start price: the exchange's last trade when the symbol has traded,
    else the instrument's reference price (`service.load_instruments`), so that a restarted feed
    carries on from the market rather than from the opening reference."""

    reference_price: Decimal
    tick_size: Decimal = Decimal("0.01")


@dataclass(slots=True)
class _Path:
    rng: random.Random
    log_price: float
    tick_size: Decimal
    last_at: datetime | None = None
    anchor: float = 0.0  # log of the price jumps lean back to: the start, or the last followed


class SimulatedFeed(MarketDataProvider):
    """Seeded GBM + jumps. Same seed and same `now` sequence: same prices, on any machine.

    Each symbol has its own random stream, seeded from the seed, the symbol and its start price:
    adding or removing an instrument does not change the others' paths, and a restart (which
    starts from the exchange's last trade) does not replay the previous run's jumps at the same
    moments after start.

    volatility: annualised sigma; drift: annualised mu; jumps_per_minute: Poisson intensity per
    symbol; jump_size: typical absolute log-jump (each jump is 0.5x to 1.5x of it, either sign);
    rate: ticks per second per symbol.
    """

    name = "simulated"

    def __init__(
        self,
        instruments: Mapping[str, SeedInstrument],
        *,
        seed: int | str = 0,
        volatility: float = 0.6,
        drift: float = 0.0,
        jumps_per_minute: float = 0.5,
        jump_size: float = 0.03,
        rate: float = 2.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.volatility = volatility
        self.drift = drift
        self.jumps_per_minute = jumps_per_minute
        self.jump_size = jump_size
        self.rate = rate
        self.interval = 1.0 / rate
        self.jumps = 0
        self._paths = {
            symbol: _Path(
                rng=random.Random(f"{seed}:{symbol}:{float(spec.reference_price)!r}"),
                log_price=math.log(float(spec.reference_price)),
                tick_size=spec.tick_size,
                anchor=math.log(float(spec.reference_price)),
            )
            for symbol, spec in instruments.items()
            if spec.reference_price is not None and spec.reference_price > 0
        }

    @property
    def symbols(self) -> list[str]:
        return list(self._paths)

    def follow(self, ticks: Sequence[Tick]) -> None:
        """Move each symbol's path to the price another source just published.

        While another provider (the exchange, yfinance) is active this feed is not asked for
        ticks, so its paths would stay at the start price; following the published prices makes
        a failover continue from the market's last price instead of jumping back to it.
        """
        for tick in ticks:
            path = self._paths.get(tick.symbol)
            if path is None or tick.source == self.name:
                continue
            if not tick.price.is_finite() or tick.price <= 0:
                continue
            path.log_price = path.anchor = math.log(float(tick.price))
            path.last_at = None  # the next step is one interval from here, not since long ago

    def step(self, symbol: str, now: datetime) -> Tick:
        """Advance one symbol to `now` (dt from its previous step, 1/rate for the first)."""
        path = self._paths[symbol]
        dt = self.interval if path.last_at is None else (now - path.last_at).total_seconds()
        dt = min(max(dt, 0.0), MAX_STEP_SECONDS)
        path.last_at = now
        rng = path.rng
        years = dt / TRADING_SECONDS_PER_YEAR
        sigma = self.volatility
        shock = rng.gauss(0.0, 1.0)
        path.log_price += (self.drift - sigma * sigma / 2) * years + sigma * math.sqrt(
            years
        ) * shock
        jump_chance = 1.0 - math.exp(-self.jumps_per_minute * dt / 60.0)
        if rng.random() < jump_chance:
            size = self.jump_size * rng.uniform(0.5, 1.5)
            up = 0.5 - JUMP_REVERSION * (path.log_price - path.anchor)
            up = min(max(up, 1.0 - JUMP_MAX_ODDS), JUMP_MAX_ODDS)
            path.log_price += size if rng.random() < up else -size
            self.jumps += 1
        # Keep the model from wandering below one tick (a price must stay positive).
        floor = math.log(float(path.tick_size))
        path.log_price = max(path.log_price, floor)
        price = quantize_to_tick(Decimal(repr(math.exp(path.log_price))), path.tick_size)
        if price <= 0:
            price = path.tick_size
        volume = max(1, int(rng.expovariate(1 / 200)))
        return Tick(symbol=symbol, price=price, timestamp=now, source=self.name, volume=volume)

    def ticks_at(self, now: datetime, symbols: Sequence[str] | None = None) -> list[Tick]:
        """One tick per known symbol at `now` (time passed in: tests and replays control it)."""
        wanted = self._paths if symbols is None else [s for s in symbols if s in self._paths]
        return [self.step(symbol, now) for symbol in wanted]

    async def fetch(self, symbols: Sequence[str]) -> list[Tick]:
        return self.ticks_at(datetime.now(UTC), symbols)
