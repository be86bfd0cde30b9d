"""The pure live pieces: ledger, bar builder, order client, broker and session (no Django)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from algo_trading import registry
from algo_trading.live import (
    BarBuilder,
    InstrumentSpec,
    Ledger,
    LiveBroker,
    LiveSession,
    OrderClient,
)
from algo_trading.live.transport import QueueTransport, run_session
from algo_trading.sizing import FixedQuantity

from .helpers import fill, report

AAPL = InstrumentSpec("AAPL", Decimal("0.01"), 1, Decimal("190.00"))
SEC = 1_000_000_000


class Clock:
    def __init__(self, ns: int = 1_700_000_000 * SEC) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns

    def mono(self) -> float:
        return self.ns / SEC


def client_with_outbox(**kwargs):
    sent: list[tuple[str, dict]] = []
    client = OrderClient(7, {"AAPL": AAPL}, lambda ch, m: sent.append((ch, m)), **kwargs)
    return client, sent


# ------------------------------------------------------------------------------ ledger


def test_ledger_average_cost_partial_close_and_flip():
    ledger = Ledger()
    ledger.apply(10, Decimal("100"))
    ledger.apply(10, Decimal("110"))
    assert ledger.qty == 20 and ledger.avg_cost == Decimal("105")
    assert ledger.apply(-5, Decimal("120")) == Decimal("75")  # (120 - 105) * 5
    assert ledger.qty == 15 and ledger.avg_cost == Decimal("105")
    ledger.apply(-25, Decimal("100"))  # closes 15 (-75), opens a 10 short at 100
    assert ledger.qty == -10 and ledger.avg_cost == Decimal("100")
    assert ledger.realized == Decimal("0")
    assert ledger.unrealized(Decimal("95")) == Decimal("50")
    # P&L is cash moved plus the position's value
    assert ledger.pnl(Decimal("95")) == ledger.cash + ledger.qty * Decimal("95")


# ------------------------------------------------------------------------------ bars


def test_bars_close_on_the_next_interval_or_the_timer_and_skip_empty_ones():
    b = BarBuilder(5)
    t0 = 1_000 * 5 * SEC
    assert b.add(t0, 10.0, 1) is None
    assert b.add(t0 + 1 * SEC, 12.0, 2) is None
    assert b.add(t0 + 2 * SEC, 9.0) is None
    assert b.close_due(t0 + 4 * SEC) is None
    bar = b.add(t0 + 6 * SEC, 11.0, 3)  # the next interval completes the first bar
    assert (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume) == (t0, 10, 12, 9, 9, 3)
    late = b.close_due(t0 + 10 * SEC)
    assert late.ts == t0 + 5 * SEC and late.open == late.close == 11.0
    assert b.close_due(t0 + 60 * SEC) is None  # nothing traded: no invented bar
    assert b.next_close_ns() is None
    with pytest.raises(ValueError):
        BarBuilder(0)


# ------------------------------------------------------------------------------ order client


def test_submit_writes_the_gateways_payload_to_the_shard_inbox():
    client, sent = client_with_outbox(prefix="run3-", shards=1)
    order = client.submit("AAPL", "buy", 10, Decimal("189.50"))
    channel, message = sent[-1]
    assert channel == "matching.shard.0"
    assert message["type"] == "orders.submit"
    (p,) = message["orders"]
    assert p == {
        "id": order.id,
        "account_id": 7,
        "client_order_id": "run3-1",
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "time_in_force": "gtc",
        "qty": 10,
        "limit_price": "189.50",
        "stop_price": None,
        "origin": "strategy",
    }
    market = client.submit("AAPL", "sell", 5)
    assert sent[-1][1]["orders"][0]["type"] == "market"
    assert sent[-1][1]["orders"][0]["time_in_force"] == "day"
    client.cancel(market)
    assert sent[-1] == (
        "matching.shard.0",
        {"type": "order.cancel", "id": market.id, "account_id": 7},
    )
    assert not client.cancel(market)  # once is enough
    client.replace(order, limit_price=Decimal("189.40"))
    assert sent[-1][1] == {
        "type": "order.replace",
        "id": order.id,
        "account_id": 7,
        "qty": None,
        "limit_price": "189.40",
    }
    with pytest.raises(ValueError):
        client.submit("AAPL", "buy", 10, Decimal("189.505"))  # off the tick grid
    with pytest.raises(ValueError):
        client.submit("MSFT", "buy", 10)


def test_reports_move_the_order_and_the_ledger():
    client, _ = client_with_outbox()
    order = client.submit("AAPL", "buy", 10)
    assert client.apply(report(order, "new")).kind == "new"
    assert order.status == "new"
    first = client.apply(fill(order, 4, "190.00", 101, last=False))
    assert first.kind == "partial_fill" and first.qty == 4 and order.remaining == 6
    assert client.apply(fill(order, 4, "190.00", 101, last=False)) is None  # a duplicate
    last = client.apply(fill(order, 6, "190.10", 102))
    assert last.kind == "fill" and order.status == "filled"
    ledger = client.ledger("AAPL")
    assert ledger.qty == 10 and ledger.avg_cost == Decimal("190.06")
    assert client.open_orders() == []
    other = {"event": "new", "order": {"id": "somebody-else"}}
    assert client.apply(other) is None


def test_refusals_cancels_and_replace_rejections_are_reported():
    client, _ = client_with_outbox()
    a = client.submit("AAPL", "buy", 10, Decimal("170.00"))
    event = client.apply(report(a, "rejected", reason="PRICE_COLLAR: too far"))
    assert event.kind == "rejected" and client.stats.last_reject == "PRICE_COLLAR: too far"
    b = client.submit("AAPL", "sell", 10)
    event = client.apply(report(b, "canceled", reason="no liquidity"))
    assert event.kind == "canceled" and event.reason == "no liquidity"
    c = client.submit("AAPL", "sell", 10, Decimal("191.00"))
    client.apply(report(c, "new"))
    error = {"event": "error", "code": "replace_rejected", "message": "PRICE_COLLAR", "id": c.id}
    assert client.apply(error).kind == "replace_rejected"
    invalid = client.submit("AAPL", "buy", 1)
    bad = {"event": "error", "code": "invalid_order", "message": "boom", "id": invalid.id}
    assert client.apply(bad).kind == "rejected" and not invalid.is_open


def test_unacknowledged_orders_are_resent_then_given_up():
    clock = Clock()
    client, sent = client_with_outbox(ack_timeout=5, max_attempts=2, clock=clock.mono)
    order = client.submit("AAPL", "buy", 10)
    assert client.due() == []
    clock.ns += 6 * SEC
    assert client.due() == [] and len(sent) == 2 and sent[1] == sent[0]  # same id, same coid
    clock.ns += 6 * SEC
    (gave_up,) = client.due()
    assert gave_up.kind == "rejected" and "no acknowledgement" in gave_up.reason
    assert not order.is_open


def test_a_resend_the_worker_had_applied_adopts_its_state():
    clock = Clock()
    client, _ = client_with_outbox(clock=clock.mono)
    order = client.submit("AAPL", "buy", 10, Decimal("190.00"))
    duplicate = {
        "event": "error",
        "code": "duplicate_client_order_id",
        "id": order.id,
        "existing_order": {"id": order.id, "status": "filled", "filled_qty": 10,
                           "filled_avg_price": "189.99"},
    }  # fmt: skip
    event = client.apply(duplicate)
    assert event.is_fill and event.qty == 10 and client.ledger("AAPL").qty == 10


def test_round_price_never_worsens_the_limit():
    assert AAPL.round_price(189.999, "buy") == Decimal("189.99")
    assert AAPL.round_price(189.991, "sell") == Decimal("190.00")
    assert AAPL.round_price(Decimal("190.5"), "buy") == Decimal("190.50")
    with pytest.raises(ValueError):
        AAPL.round_price(-1.0, "buy")


# ------------------------------------------------------------------------------ broker + session


def make_session(clock: Clock, transport: QueueTransport, params=None, **kwargs):
    client = OrderClient(7, {"AAPL": AAPL}, transport.send, prefix="run1-", clock=clock.mono)
    broker = LiveBroker(client, AAPL, Decimal("100000"), clock_ns=clock)
    strategy = registry.create("test_buy_first_bar", params or {})
    session = LiveSession(
        strategy, broker, bar_seconds=5, sizer=FixedQuantity(10), clock_ns=clock, **kwargs
    )
    return session, strategy, broker, client


def trade(price: str, qty: int = 100) -> dict:
    return {
        "type": "market.update",
        "symbol": "AAPL",
        "sequence": 1,
        "changes": [],
        "trades": [{"price": price, "qty": qty, "side": "buy"}],
        "quote": {"bid": "189.90", "ask": "190.10"},
    }


def test_session_builds_bars_calls_hooks_and_reports_fills_before_the_next_bar():
    clock, transport = Clock(), QueueTransport()
    session, strategy, broker, client = make_session(clock, transport)
    assert session.groups == ["account.7", "market.AAPL", "prices.AAPL"]
    session.start()
    session.handle(trade("190.00"))
    session.handle(
        {"type": "price.tick", "symbol": "AAPL", "price": "190.20", "source": "simulated"}
    )
    session.handle({"type": "price.tick", "symbol": "AAPL", "price": "999", "source": "exchange"})
    assert strategy.ticks_seen == 2 and strategy.bars_seen == 0
    clock.ns += 5 * SEC
    session.on_timer()  # the interval ended: bar 1, and the strategy buys
    assert strategy.bars_seen == 1
    ((channel, message),) = transport.outbox
    (payload,) = message["orders"]
    assert payload["side"] == "buy" and payload["qty"] == 10 and payload["type"] == "market"
    order = client.open_orders()[0]
    assert strategy.pending_qty() == 10
    session.handle({"type": "trade.updates", "updates": [fill(order, 4, "190.10", 1, last=False)]})
    assert strategy.position == 4 and strategy.pending_qty() == 6  # the rest, not 10 again
    session.handle({"type": "trade.updates", "updates": [fill(order, 6, "190.10", 2)]})
    assert strategy.fills_seen == [("buy", 4, 190.1), ("buy", 6, 190.1)]
    assert strategy.position == 10 and strategy.open_orders == []
    assert strategy.cash == pytest.approx(100_000 - 1901.0)
    session.handle(trade("191.00"))
    snap = session.snapshot()
    assert snap["position"] == 10 and snap["unrealized_pnl"] == Decimal("9.00")
    assert snap["equity"] == Decimal("100009.00")


def test_stop_withdraws_resting_limits_and_can_flatten():
    clock, transport = Clock(), QueueTransport()
    session, strategy, broker, client = make_session(clock, transport, flatten_on_stop=True)
    session.start()
    resting = strategy.buy(5, limit=180.0)
    ledger = client.ledger("AAPL")
    ledger.apply(10, Decimal("190"))  # as if an earlier order had filled
    session.stop()
    assert strategy.stopped
    kinds = [m["type"] for _, m in transport.outbox]
    assert kinds == ["orders.submit", "order.cancel", "orders.submit"]
    assert transport.outbox[1][1]["id"] == resting.id
    assert transport.outbox[2][1]["orders"][0]["side"] == "sell"
    assert transport.outbox[2][1]["orders"][0]["qty"] == 10


async def test_run_session_runs_until_stopped_and_drains_reports():
    clock, transport = Clock(), QueueTransport()
    session, strategy, broker, client = make_session(clock, transport)
    stop = asyncio.Event()
    task = asyncio.ensure_future(run_session(session, transport, stop, idle=0.05, drain_seconds=1))
    await transport.inbox.put(trade("190.00"))
    await asyncio.sleep(0.1)
    clock.ns += 5 * SEC
    await asyncio.sleep(0.1)  # the timer closes the bar; the strategy's order goes out
    assert [m["type"] for _, m in transport.sent] == ["orders.submit"]
    order = client.open_orders()[0]
    stop.set()
    await transport.inbox.put({"type": "trade.updates", "updates": [fill(order, 10, "190.05", 9)]})
    await asyncio.wait_for(task, 5)
    assert transport.closed and strategy.stopped
    assert broker.position() == 10  # the fill in flight at the stop was still booked
