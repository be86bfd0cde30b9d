"""The synchronous core of the matching worker: recovery, then one batch at a time.

Single writer: only this object (one per shard) moves orders out of "accepted" and writes fills.
The async runner (`runner.py`) feeds it messages and publishes what it returns; everything here
runs in one thread, so there is no locking.
"""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections import deque
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.db.models import Max, Sum
from django.utils import timezone

from matching import events as ev
from matching.codes import ORDER_TYPES, SIDE_NAMES, SIDES, TIFS
from matching.engine import Engine
from matching.sharding import shard_of
from matching.ticks import to_ticks
from trading_app.matching_worker.batch import BatchResult, EventApplier
from trading_app.matching_worker.persistence import existing_client_order_ids, persist
from trading_app.matching_worker.risk_gate import RiskGate
from trading_app.matching_worker.session import SessionClock
from trading_app.matching_worker.state import LiveOrder, format_price, iso
from trading_app.models import Account, Instrument, Order, Trade
from trading_app.services.market_data import publish_quote

log = logging.getLogger("tradingsim.matching")

SNAPSHOT_LEVELS = 50
RECENT_TRADES = 50
SCAN_INTERVAL = 1.0
GC_GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Keep the cyclic garbage collector off the books (call once recovery is done).

    With the default thresholds the collector ran full passes over every live order, fill and
    report several times a batch: 0.3-1.2 s of each 16,000 orders in bench/worker.py (20-30% of
    the worker's CPU). Freezing what recovery built moves the starting books out of its sight; a
    larger first-generation threshold lets a batch's short-lived objects (reports, rows) die by
    reference counting before a collection sees them, so few reach the old generations. Cycles
    are still collected, only less often (a process-wide setting: `serve` shares it).
    """
    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GC_GEN0_THRESHOLD), gen1, gen2)


def _skip_query_log(db) -> None:
    """The worker's connection does not record its queries, even under DEBUG (`make run`).

    DEBUG wraps every cursor to keep each statement's text in connection.queries; on SQLite that
    means quoting every parameter again with a SELECT QUOTE(...) per statement: ~10% of the
    worker's time, for a log of the hot path that nobody reads. A caller that asks for the log
    explicitly (force_debug_cursor: CaptureQueriesContext, assertNumQueries) still gets it.
    """
    if getattr(db, "_query_log_skipped", False):
        return
    logged = type(db).make_debug_cursor.__get__(db)

    def make_debug_cursor(cursor):
        return logged(cursor) if db.force_debug_cursor else db.make_cursor(cursor)

    db.make_debug_cursor = make_debug_cursor
    db._query_log_skipped = True


def book_snapshot_key(symbol: str) -> str:
    return f"book:{symbol}"


class MatchingWorker:
    def __init__(self, shard: int = 0, shards: int = 1, batch_size: int | None = None) -> None:
        self.shard, self.shards = shard, shards
        self.batch_size = batch_size or settings.MATCHING_BATCH_SIZE
        self.engine = Engine()
        self.live: dict[int, LiveOrder] = {}  # seq -> live order
        self.by_id: dict[uuid.UUID, LiveOrder] = {}
        self.by_coid: dict[tuple[int, str], LiveOrder] = {}
        self.instruments: dict[str, tuple[int, Decimal]] = {}  # symbol -> (id, tick size)
        self.symbols_by_id: dict[int, str] = {}
        # Accounts seen to exist: orders and trades have no database foreign key (the worker is
        # their single writer), so an order naming an unknown account is refused here.
        self.known_accounts: set[int] = set()
        self.tick_sizes: dict[str, Decimal] = {}
        self._counter = 0
        self.applier = EventApplier(self.live, self.tick_sizes, self.next_number)
        self.risk = RiskGate(self)
        self.session = SessionClock(settings.SESSION_END_UTC)
        # Market data sequence numbers: strictly increasing per symbol, also across restarts.
        self.market_seq: dict[str, int] = {}
        self.recent_trades: dict[str, deque] = {}
        self.volume: dict[str, int] = {}
        self._last_scan = 0.0
        self._scan_wanted = True
        self.stats = {"batches": 0, "orders": 0, "fills": 0}

    # ------------------------------------------------------------------------------ numbering

    def next_number(self) -> int:
        """Globally unique across shards (interleaved), increasing within this shard."""
        self._counter += 1
        return self._counter * self.shards + self.shard

    # ------------------------------------------------------------------------------ recovery

    def recover(self) -> None:
        """Rebuild every book of this shard from the database, the record of what happened."""
        started = time.perf_counter()
        _skip_query_log(connections[DEFAULT_DB_ALIAS])
        for inst in Instrument.objects.filter(active=True).order_by("symbol"):
            if shard_of(inst.symbol, self.shards) != self.shard:
                continue
            self.engine.add_book(inst.symbol)
            self.instruments[inst.symbol] = (inst.id, inst.tick_size)
            self.symbols_by_id[inst.id] = inst.symbol
            self.tick_sizes[inst.symbol] = inst.tick_size
            if inst.last_price is not None:
                self.engine.set_last_price(inst.symbol, to_ticks(inst.last_price, inst.tick_size))
            self.recent_trades[inst.symbol] = deque(maxlen=RECENT_TRADES)
        highest = Order.objects.aggregate(s=Max("seq"), p=Max("priority"))
        top_exec = Trade.objects.aggregate(e=Max("execution_id"))["e"]
        top = max(v for v in (highest["s"], highest["p"], top_exec, 0) if v is not None)
        self._counter = top // max(self.shards, 1)  # next_number() continues right after top
        base = int(time.time() * 1000) * 1000
        self.market_seq = dict.fromkeys(self.instruments, base)

        last_end = self.session.last_end_before(timezone.now())
        if last_end is not None:  # day orders whose session ended while the worker was down
            Order.objects.filter(
                status__in=("new", "partially_filled"),
                time_in_force="day",
                created_at__lt=last_end,
                instrument_id__in=self.symbols_by_id,
            ).update(status="expired", expired_at=timezone.now(), updated_at=timezone.now())
        restored = 0
        rows = (
            Order.objects.filter(
                status__in=("new", "partially_filled"), instrument_id__in=self.symbols_by_id
            )
            .order_by("priority", "seq")
            .iterator(chunk_size=5000)
        )
        for row in rows:
            order = self._live_from_row(row)
            tick = self.tick_sizes[order.symbol]
            problems = self.engine.restore_order(
                order.seq,
                order.account_id,
                order.symbol,
                SIDES[order.side],
                ORDER_TYPES[order.type],
                TIFS[order.time_in_force],
                order.qty,
                to_ticks(order.limit_price, tick) if order.limit_price is not None else None,
                to_ticks(order.stop_price, tick) if order.stop_price is not None else None,
                filled=order.filled_qty,
                triggered=order.triggered_at is not None,
            )
            if problems:
                log.error("could not restore order %s: %s", order.id, problems)
                continue
            self._index(order)
            restored += 1
        self.engine.drain_level_changes()  # the snapshot below is the starting point
        self._load_today_volume()
        self._load_recent_trades()
        self._write_snapshots(self.instruments)
        log.info(
            "shard %s/%s recovered %d books, %d live orders in %.2fs",
            self.shard,
            self.shards,
            len(self.instruments),
            restored,
            time.perf_counter() - started,
        )

    def _live_from_row(self, row: Order) -> LiveOrder:
        symbol = self.symbols_by_id[row.instrument_id]
        filled_notional = (row.filled_avg_price or Decimal(0)) * row.filled_qty
        return LiveOrder(
            id=row.id,
            account_id=row.account_id,
            instrument_id=row.instrument_id,
            symbol=symbol,
            client_order_id=row.client_order_id,
            side=row.side,
            type=row.type,
            time_in_force=row.time_in_force,
            qty=row.qty,
            limit_price=row.limit_price,
            stop_price=row.stop_price,
            created_at=row.created_at,
            origin=row.origin,
            status=row.status,
            seq=row.seq,
            priority=row.priority,
            filled_qty=row.filled_qty,
            filled_notional=filled_notional,
            reject_reason=row.reject_reason,
            triggered_at=row.triggered_at,
            updated_at=row.updated_at,
            cancel_requested=row.cancel_requested,
        )

    def _index(self, order: LiveOrder) -> None:
        self.live[order.seq] = order
        self.by_id[order.id] = order
        self.by_coid[(order.account_id, order.client_order_id)] = order

    def _unindex_closed(self, result: BatchResult) -> None:
        for order in result.touched.values():
            if not order.is_open:
                self.by_id.pop(order.id, None)
                self.by_coid.pop((order.account_id, order.client_order_id), None)

    def _load_recent_trades(self) -> None:
        """The book snapshots' last trades, from the record: after a restart the monitor's
        "recent trades" shows the market's last prints, not an empty list."""
        for symbol in self.instruments:
            rows = (
                Trade.objects.filter(ticker=symbol, source="exchange", liquidity="taker")
                .order_by("-execution_id")
                .values_list("price", "quantity", "side", "timestamp", "execution_id")[
                    :RECENT_TRADES
                ]
            )
            self.recent_trades[symbol].extend(
                {
                    "price": format_price(price),
                    "qty": qty,
                    "side": side,
                    "timestamp": iso(timestamp),
                    "execution_id": execution_id,
                }
                for price, qty, side, timestamp, execution_id in rows
            )

    def _load_today_volume(self) -> None:
        midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        rows = (
            Trade.objects.filter(source="exchange", liquidity="taker", timestamp__gte=midnight)
            .values("ticker")
            .annotate(v=Sum("quantity"))
        )
        self.volume = dict.fromkeys(self.instruments, 0)
        for row in rows:
            if row["ticker"] in self.volume:
                self.volume[row["ticker"]] = row["v"]

    # ------------------------------------------------------------------------------ batches

    def process_batch(self, messages: list[dict]) -> BatchResult | None:
        """Apply messages (and any accepted orders in the database), persist, return the result.

        On a database error the engine's state is ahead of the record, so the worker rebuilds
        itself from the record and re-raises: accepted orders are re-applied, and orders that came
        over the channel layer were never acknowledged, so their senders resend them.
        """
        now = timezone.now()
        result = BatchResult()
        messages = self.risk.begin_batch(messages)
        submits: list[dict] = []
        for message in messages:
            kind = message.get("type")
            if kind == "orders.accepted":
                self._scan_wanted = True
            elif kind == "order.submit":
                submits.append(message["order"])
            elif kind == "orders.submit":
                submits.extend(message["orders"])
            elif kind == "order.cancel":
                self._flush_submits(submits, result, now)
                self._cancel(message, result, now)
            elif kind == "order.replace":
                self._flush_submits(submits, result, now)
                self._replace(message, result, now)
            elif kind == "session.end":
                self._flush_submits(submits, result, now)
                self.applier.apply(self.engine.expire_day_orders(), result, now)
            elif kind == "account.halt":
                self._flush_submits(submits, result, now)
                self._cancel_all(message.get("account_id"), result, now)
        self._flush_submits(submits, result, now)
        if self.session.crossed(now):
            self.applier.apply(self.engine.expire_day_orders(), result, now)
        idle_tick = not messages  # the runner's housekeeping pass; also how tests drive the worker
        if idle_tick or self._scan_wanted or time.monotonic() - self._last_scan > SCAN_INTERVAL:
            self._scan_accepted(result, now)
        result.level_changes = self.engine.drain_level_changes()
        if result.is_empty and not result.level_changes:
            return None
        try:
            positions = persist(result) if result.touched else {}
        except Exception:
            log.exception("batch could not be persisted; rebuilding from the database")
            self._reset()
            raise
        self._unindex_closed(result)
        self._after_commit(result, positions)
        self.risk.after_batch(result)
        self.stats["batches"] += 1
        self.stats["fills"] += len(result.fills)
        return result

    def _reset(self) -> None:
        self.__init__(self.shard, self.shards, self.batch_size)
        close_old_connections()
        self.recover()

    # ------------------------------------------------------------------------------ inputs

    def _scan_accepted(self, result: BatchResult, now: datetime) -> None:
        """Apply orders committed as "accepted" (REST API, or missed while down), oldest first."""
        self._last_scan = time.monotonic()
        rows = list(
            Order.objects.filter(status="accepted", instrument_id__in=self.symbols_by_id).order_by(
                "created_at", "id"
            )[: self.batch_size]
        )
        self._scan_wanted = len(rows) == self.batch_size  # more waiting: scan again at once
        self.risk.prepare(row.account_id for row in rows)
        for row in rows:
            if row.id in self.by_id or row.id in result.touched:
                continue
            self._submit(self._live_from_row(row), result, now)

    def _flush_submits(self, submits: list[dict], result: BatchResult, now: datetime) -> None:
        """Channel-layer orders: refuse repeats of a client_order_id, then submit in order."""
        if not submits:
            return
        batch: list[LiveOrder] = []
        seen: dict[tuple[int, str], LiveOrder] = {}  # this batch's orders by client_order_id
        for payload in submits:
            try:
                order = self._live_from_payload(payload, now)
            except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
                account = payload.get("account_id") if isinstance(payload, dict) else None
                if account is not None:
                    result.errors.append((account, _error(payload, "invalid_order", str(exc))))
                continue
            key = (order.account_id, order.client_order_id)
            if key in seen or key in self.by_coid:
                first = seen.get(key) or self.by_coid.get(key)
                result.errors.append((order.account_id, _duplicate(order, first)))
                continue
            seen[key] = order
            batch.append(order)
        submits.clear()
        unknown = {o.account_id for o in batch} - self.known_accounts
        if unknown:
            self.known_accounts.update(
                Account.objects.filter(id__in=unknown).values_list("id", flat=True)
            )
            if not unknown <= self.known_accounts:
                kept = []
                for order in batch:
                    if order.account_id in self.known_accounts:
                        kept.append(order)
                    else:
                        error = _error(
                            {"id": str(order.id), "client_order_id": order.client_order_id},
                            "invalid_order",
                            "no such account",
                        )
                        result.errors.append((order.account_id, error))
                batch = kept
        if not batch:
            return
        existing = existing_client_order_ids([(o.account_id, o.client_order_id) for o in batch])
        self.risk.prepare(o.account_id for o in batch)
        for order in batch:
            found = existing.get((order.account_id, order.client_order_id))
            if found is not None:
                result.errors.append((order.account_id, _duplicate(order, None, found)))
                continue
            self._submit(order, result, now)

    def _live_from_payload(self, p: dict, now: datetime) -> LiveOrder:
        symbol = p["symbol"]
        instrument_id, _tick = self.instruments[symbol]
        limit = p.get("limit_price")
        stop = p.get("stop_price")
        text = str(p["id"])
        oid = uuid.UUID(text)
        if not (
            len(text) == 36
            and text == text.lower()
            and text[8] == text[13] == text[18] == text[23] == "-"
        ):
            text = ""  # not in canonical form: LiveOrder.id_str makes it
        return LiveOrder(
            id=oid,
            id_text=text,
            account_id=int(p["account_id"]),
            instrument_id=instrument_id,
            symbol=symbol,
            client_order_id=str(p.get("client_order_id") or p["id"]),
            side=p["side"],
            type=p["type"],
            time_in_force=p["time_in_force"],
            qty=int(p["qty"]),
            limit_price=Decimal(limit) if limit is not None else None,
            stop_price=Decimal(stop) if stop is not None else None,
            created_at=now,
            origin=p.get("origin", "ws"),
            is_new_row=True,
            updated_at=now,
        )

    def _submit(self, order: LiveOrder, result: BatchResult, now: datetime) -> None:
        order.seq = order.priority = self.next_number()
        self.stats["orders"] += 1
        reason = None
        if order.cancel_requested:
            order.status = "canceled"
            order.canceled_at = order.updated_at = now
            result.touch(order, "status", "canceled_at", "seq", "priority", "updated_at")
            result.report(order, "canceled", now, reason="canceled")
            return
        if order.time_in_force == "day" and self.session.expired(order.created_at, now):
            order.status = "expired"
            order.expired_at = order.updated_at = now
            result.touch(order, "status", "expired_at", "seq", "priority", "updated_at")
            result.report(order, "expired", now)
            return
        reason = self.risk.check(order)
        if reason is not None:
            self.applier.reject(order, reason, result, now)
            return
        tick = self.tick_sizes[order.symbol]
        try:
            price = to_ticks(order.limit_price, tick) if order.limit_price is not None else None
            stop = to_ticks(order.stop_price, tick) if order.stop_price is not None else None
        except ValueError as exc:
            self.applier.reject(order, str(exc), result, now)
            return
        self._index(order)
        events = self.engine.submit(
            order.seq,
            order.account_id,
            order.symbol,
            SIDES[order.side],
            ORDER_TYPES[order.type],
            TIFS[order.time_in_force],
            order.qty,
            price,
            stop,
        )
        self.applier.apply(events, result, now)

    def _find(self, message: dict) -> LiveOrder | None:
        order = None
        if message.get("id"):
            try:
                order = self.by_id.get(uuid.UUID(str(message["id"])))
            except ValueError:
                return None
        elif message.get("client_order_id") and message.get("account_id") is not None:
            order = self.by_coid.get((int(message["account_id"]), str(message["client_order_id"])))
        account = message.get("account_id")
        if order is not None and account is not None and int(account) != order.account_id:
            return None  # never act on another account's order, nor reveal that it exists
        return order

    def _cancel(self, message: dict, result: BatchResult, now: datetime) -> None:
        order = self._find(message)
        if order is None or order.seq not in self.live:
            if message.get("account_id") is not None:
                result.errors.append(
                    (
                        int(message["account_id"]),
                        _error(message, "unknown_order", "no open order with that id"),
                    )
                )
            else:  # a REST cancel for an order still accepted: the scan sees its flag
                self._scan_wanted = True
            return
        events = self.engine.cancel(order.seq)
        self.applier.apply(events, result, now)

    def _replace(self, message: dict, result: BatchResult, now: datetime) -> None:
        order = self._find(message)
        account = message.get("account_id")
        if order is None or order.seq not in self.live:
            if account is not None:
                result.errors.append(
                    (int(account), _error(message, "unknown_order", "no open order with that id"))
                )
            return
        tick = self.tick_sizes[order.symbol]
        # The gateway checked the fields without knowing the order's instrument (a replace names
        # only the order): the tick is checked here, and a refusal names its field as REST's does.
        field = "qty"
        try:
            qty = int(message["qty"]) if message.get("qty") is not None else None
            field = "limit_price"
            price = message.get("limit_price")
            ticks = to_ticks(Decimal(str(price)), tick) if price is not None else None
        except (ValueError, InvalidOperation) as exc:
            problem = (
                f"must be a multiple of the tick size {tick.normalize()}"
                if field == "limit_price" and "multiple" in str(exc)
                else str(exc)
            )
            error = _error(message, "invalid_replace", f"{field}: {problem}")
            error["errors"] = {field: [problem]}
            result.errors.append((order.account_id, error))
            return
        events = self.risk.check_replace(order, qty, ticks) or self.engine.replace(
            order.seq, qty=qty, price=ticks
        )
        if events and events[0][0] == ev.REJECTED:
            result.errors.append(
                (order.account_id, _error(message, "replace_rejected", events[0][2]))
            )
            return
        self.applier.apply(events, result, now)

    def _cancel_all(self, account_id: int | None, result: BatchResult, now: datetime) -> None:
        """Kill switch: cancel every live order of one account, or of everyone (None)."""
        for order in list(self.live.values()):
            if account_id is None or order.account_id == account_id:
                self.applier.apply(self.engine.cancel(order.seq), result, now)

    # ------------------------------------------------------------------------------ outputs

    def _after_commit(self, result: BatchResult, positions: dict) -> None:
        """Refresh the quote and book caches; stamp market messages with sequence numbers."""
        for fill in result.fills:
            self.volume[fill.symbol] = self.volume.get(fill.symbol, 0) + fill.qty
            self.recent_trades[fill.symbol].appendleft(
                {
                    "price": format_price(fill.price),
                    "qty": fill.qty,
                    "side": fill.taker_side,
                    "timestamp": iso(fill.timestamp),
                    "execution_id": fill.execution_id,
                }
            )
        for account_id, report in result.reports:
            execution_id = report.get("execution_id")
            if execution_id is not None:
                qty = positions.get((account_id, execution_id))
                if qty is not None:
                    report["position_qty"] = qty
        touched = {c[0] for c in result.level_changes} | set(result.last_prices)
        self._write_snapshots(touched)
        result.market = self._market_messages(result, touched)

    def _market_messages(self, result: BatchResult, symbols) -> dict[str, dict]:
        """One message per symbol per batch: depth changes (absolute sizes), trades, quote."""
        messages: dict[str, dict] = {}
        for symbol in symbols:
            tick = self.tick_sizes[symbol]
            messages[symbol] = {
                "type": "market.update",
                "symbol": symbol,
                "sequence": self.market_seq[symbol],
                "changes": [
                    [SIDE_NAMES[side], format_price(price * tick), size]
                    for sym, side, price, size in result.level_changes
                    if sym == symbol
                ],
                "trades": [
                    {
                        "price": format_price(f.price),
                        "qty": f.qty,
                        "side": f.taker_side,
                        "timestamp": iso(f.timestamp),
                        "execution_id": f.execution_id,
                    }
                    for f in result.fills
                    if f.symbol == symbol
                ],
                "quote": self.quote(symbol),
            }
        return messages

    def _write_snapshots(self, symbols) -> None:
        from django.core.cache import cache

        snapshots = {}
        for symbol in symbols:
            self.market_seq[symbol] = self.market_seq.get(symbol, 0) + 1
            snapshots[book_snapshot_key(symbol)] = self.book_snapshot(symbol)
            publish_quote(symbol, self.quote(symbol))
        if snapshots:
            cache.set_many(snapshots, None)

    def book_snapshot(self, symbol: str, levels: int = SNAPSHOT_LEVELS) -> dict:
        tick = self.tick_sizes[symbol]
        bids, asks = self.engine.depth(symbol, levels)
        return {
            "symbol": symbol,
            "sequence": self.market_seq[symbol],
            "bids": [[format_price(p * tick), q] for p, q in bids],
            "asks": [[format_price(p * tick), q] for p, q in asks],
            "trades": list(self.recent_trades.get(symbol, ())),
        }

    def quote(self, symbol: str) -> dict:
        tick = self.tick_sizes[symbol]
        bid, ask, last = (
            self.engine.best_bid(symbol),
            self.engine.best_ask(symbol),
            self.engine.last_price(symbol),
        )
        return {
            "symbol": symbol,
            "price": format_price(last * tick) if last is not None else None,
            "bid": format_price(bid * tick) if bid is not None else None,
            "ask": format_price(ask * tick) if ask is not None else None,
            "volume": self.volume.get(symbol, 0),
            "timestamp": timezone.now().isoformat(),
            "source": "exchange",
        }


def _error(message: dict, code: str, detail: str) -> dict:
    return {
        "event": "error",
        "code": code,
        "message": detail,
        "id": str(message.get("id")) if message.get("id") else None,
        "client_order_id": message.get("client_order_id"),
    }


def _duplicate(order: LiveOrder, live: LiveOrder | None, row: tuple | None = None) -> dict:
    existing = live.as_report() if live is not None else None
    if existing is None and row is not None:
        existing = {"id": str(row[0]), "status": row[1], "client_order_id": order.client_order_id}
    return {
        "event": "error",
        "code": "duplicate_client_order_id",
        "message": f"client_order_id {order.client_order_id!r} was already used by this account",
        "id": str(order.id),
        "client_order_id": order.client_order_id,
        "existing_order": existing,
    }
