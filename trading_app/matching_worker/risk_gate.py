"""Pre-trade risk checks, run by the matching worker: the one path every order takes to the book.

REST orders (committed "accepted", then scanned) and WebSocket orders (sent inline over the
channel layer) both reach `MatchingWorker._submit`, which asks `RiskGate.check` before the engine.
The worker is the single writer of its shard, so two orders of one account racing each other are
checked one after the other against state that already counts the first: they can never together
break a limit.

State is kept in memory (see `trading_app.risk.state`): what each open order the gate let through
still reserves, positions and cash updated from the batch's fills, and instrument marks. An
account is read from the database when the gate first meets it; after that, the worker's own
fills keep its cash and positions, and what changes elsewhere (halts, limit changes, manual
trades: `trading_app.risk.changes`) is found with one query per batch, which re-reads only the
accounts named. With several shards, another shard's fills move an account's cash too, so there
every account of a batch is re-read once per batch (one query per table). A check is then a
handful of dictionary look-ups and Decimal operations (see bench/risk_checks.py), never a query.

Reasons start with a stable code (`trading_app.risk.codes`), e.g.
"MAX_ORDER_QTY: quantity 51 exceeds the limit of 50".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone

from matching import events as ev
from trading_app.matching_worker.state import LiveOrder
from trading_app.models import Account, ExchangeStatus
from trading_app.risk import checks, codes, config
from trading_app.risk.alerts import AlertBox
from trading_app.risk.changes import ChangeFeed, prune
from trading_app.risk.checks import Refusal
from trading_app.risk.equity import revalue, snapshot_rows
from trading_app.risk.exposure import cash_required, gross_term
from trading_app.risk.halts import DEFAULT_ACCOUNT_REASON, halt_account, halt_message
from trading_app.risk.limits import load_limits
from trading_app.risk.loading import (
    load_accounts,
    load_baselines,
    load_instruments,
    load_positions,
)
from trading_app.risk.state import AccountRisk, Exposure, InstrumentInfo
from trading_app.risk.token_bucket import TokenBucket

log = logging.getLogger("tradingsim.risk")

ZERO = Decimal("0")
HUNDRED = Decimal(100)
RATE = codes.RATE_LIMIT
LOAD_CHUNK = 500
OPEN = frozenset(("accepted", "new", "partially_filled"))  # LiveOrder.is_open


class RiskGate:
    def __init__(self, worker=None) -> None:
        self.worker = worker  # the MatchingWorker (for live orders, volumes, tick sizes)
        self.enabled = config.checks_enabled()
        self.exchange_halted: str | None = None
        self.halted_accounts: dict[int, str] = {}  # only used with the checks disabled
        self.accounts: dict[int, AccountRisk] = {}
        self.instruments: dict[int, InstrumentInfo] = {}
        self.alerts = AlertBox()
        self.min_volume = config.liquidity_min_volume()
        self.warn = Decimal(str(config.warning_fraction()))
        self.rate_warn = 1.0 - config.warning_fraction()
        self._fresh: set[int] = set()  # accounts re-read from the database in this batch
        # One shard sees every fill of its accounts only when it is the only shard.
        self.reload_each_batch = worker is None or worker.shards > 1
        self.changes = ChangeFeed()
        self._pending_halts: list[int] = []
        self._dirty: set[tuple[int, int]] = (
            set()
        )  # (account, instrument) changed by orders let through
        self._started = False
        self._marks_at = 0.0
        self.marks_version = 0  # +1 whenever a mark moves: accounts valued earlier are revalued
        self._stamp_of = None  # the last order's created_at, and its POSIX time
        self._stamp = 0.0
        self._snapshot_at = 0.0

    # ------------------------------------------------------------------------------ batch hooks

    def begin_batch(self, messages: list[dict]) -> list[dict]:
        """Start of a batch: re-read halts; housekeeping; prepend halts the gate itself decided.

        Returns the batch's messages, with `account.halt` for accounts halted by the daily loss
        limit since the last batch, so the worker cancels their orders in this batch.
        """
        self._fresh.clear()
        if not self.enabled:
            self._read_exchange_status()
            self.halted_accounts = dict(
                Account.objects.filter(halted=True).values_list("id", "halted_reason")
            )
            return messages
        if self._started:
            self._pick_up_changes()  # a failure here stops the batch: a halt must not be missed
        else:
            self._read_exchange_status()
        try:
            self._housekeeping()
        except Exception:  # never let bookkeeping stop the exchange; the next batch retries
            log.exception("risk housekeeping failed")
        if self._pending_halts:
            halts = [halt_message(a) for a in self._pending_halts]
            self._pending_halts = []
            return halts + list(messages)
        return messages

    def _read_exchange_status(self) -> None:
        status = ExchangeStatus.objects.filter(pk=1, halted=True).values_list("reason", flat=True)
        reason = status.first()
        self.exchange_halted = (reason or "trading is halted") if reason is not None else None

    def _pick_up_changes(self) -> None:
        """One query: accounts whose limits, halt, cash or positions changed outside the worker
        since the last batch are re-read; the exchange status when it changed."""
        accounts, everything = self.changes.poll()
        if everything:
            self._read_exchange_status()
            accounts = set(self.accounts)
        else:
            accounts &= self.accounts.keys()  # the others are read when first met
        if accounts:
            self._fresh.update(accounts)
            self._load(accounts, halt=False)

    def refresh(self) -> None:
        """Older name of begin_batch for callers that pass no messages."""
        messages = self.begin_batch([])
        self._pending_halts.extend(m["account_id"] for m in messages)

    def prepare(self, account_ids: Iterable[int]) -> None:
        """Read the accounts of this batch the gate does not know yet (with several shards: every
        account of the batch, once per batch): cash, halt, positions, limits."""
        if not self.enabled:
            return
        fresh = self._fresh
        if self.reload_each_batch:
            ids = {a for a in account_ids if a not in fresh}
        else:
            ids = set(account_ids)
            ids -= self.accounts.keys()
            ids -= fresh
        if ids:
            fresh.update(ids)
            self._load(ids, halt=False)  # the account's order finds a loss and says DAILY_LOSS

    def after_batch(self, result) -> None:
        """After the batch committed: fills move positions and cash; closed orders free what they
        reserved; marks move; then daily loss, warnings, and the alerts are sent."""
        if not self.enabled:
            return
        try:
            self._apply_batch(result)
        except Exception:
            log.exception("risk bookkeeping after a batch failed; reloading state next batch")
            self._started = False
            self.accounts.clear()  # _start counts the live orders' holds again
        self.alerts.flush()

    # ------------------------------------------------------------------------------ the checks

    def check(self, order: LiveOrder) -> str | None:
        """None to let the order through (and count it), or the reason it is rejected."""
        if self.exchange_halted is not None:
            return f"{codes.EXCHANGE_HALTED}: {self.exchange_halted}"
        account_id = order.account_id
        if not self.enabled:
            halted = self.halted_accounts.get(account_id)
            if halted is not None:
                return f"{codes.ACCOUNT_HALTED}: {halted or DEFAULT_ACCOUNT_REASON}"
            return None
        acct = self.accounts.get(account_id)
        if acct is None or self.reload_each_batch:
            if account_id not in self._fresh:
                self.prepare((account_id,))
                acct = self.accounts.get(account_id)
            if acct is None:
                return None  # no such account: the worker refuses the order itself (no DB FK)
        if acct.halted is not None:
            return f"{codes.ACCOUNT_HALTED}: {acct.halted}"
        if acct.valued != self.marks_version:  # a mark moved since: exposure and P&L at the new
            self._revalue(acct)
        limits = acct.limits
        if acct.loss_breached:
            refusal = checks.daily_loss(acct)
            self._halt_for_loss(acct, refusal)
            return refusal.reason
        bucket = acct.bucket
        created = order.created_at
        if created is not self._stamp_of:  # a batch's channel orders share one timestamp
            self._stamp_of, self._stamp = created, created.timestamp()
        if not bucket.take(self._stamp):
            return self._refuse(acct, checks.rate_limit(limits.max_orders_per_second))
        if bucket.tokens < bucket.rate * self.rate_warn or acct.alert_levels.get(RATE):
            self._rate_usage(acct)
        iid = order.instrument_id
        info = self.instruments.get(iid)
        if info is None:
            self._reload_instruments()
            info = self.instruments.get(iid)
            if info is None:
                return None
        is_buy = order.side == "buy"
        qty = order.qty - order.filled_qty
        exposures = acct.exposures
        exp = exposures.get(iid)
        if exp is None:
            exp = exposures[iid] = Exposure()
        outcome = self._assess(
            acct, info, exp, is_buy, order.qty, qty, order.type, order.limit_price, order.stop_price
        )
        if outcome.__class__ is Refusal:
            return self._refuse(acct, outcome)
        gross, required, price, notional, gross_delta, required_delta = outcome  # _apply, inline
        if is_buy:
            exp.open_buy += qty
            exp.open_buy_notional += notional
        else:
            exp.open_sell += qty
        acct.gross += gross_delta
        acct.committed += required_delta
        exp.gross, exp.required = gross, required
        order.held_qty, order.held_price, order.held_notional = qty, price, notional
        self._dirty.add((account_id, iid))
        return None

    def check_replace(self, order: LiveOrder, qty: int | None, price_ticks: int | None):
        """A replace is a new order in disguise: check its new size and price the same way.

        Returns None to let the engine apply it, or a REJECTED event the worker reports as
        `replace_rejected`.
        """
        if self.exchange_halted is not None:
            return [(ev.REJECTED, order.seq, f"{codes.EXCHANGE_HALTED}: {self.exchange_halted}")]
        if not self.enabled:
            return None
        acct = self.accounts.get(order.account_id)
        if order.held_price is None or acct is None:
            return None
        if acct.halted is not None:
            return [(ev.REJECTED, order.seq, f"{codes.ACCOUNT_HALTED}: {acct.halted}")]
        total = qty if qty is not None else order.qty
        remaining = total - order.filled_qty
        if remaining <= 0:
            return None  # the engine refuses it with its own reason
        limit_price = order.limit_price
        if price_ticks is not None and limit_price is not None:
            limit_price = price_ticks * self.worker.tick_sizes[order.symbol]
        info = self.instruments.get(order.instrument_id)
        exp = acct.exposures.get(order.instrument_id)
        if info is None or exp is None:
            return None
        is_buy = order.side == "buy"
        self._release(acct, exp, order)  # judge the order as if it were not there yet
        outcome = self._assess(
            acct, info, exp, is_buy, total, remaining, order.type, limit_price, order.stop_price
        )
        if outcome.__class__ is Refusal:
            self._restore(acct, exp, order)
            self._refuse(acct, outcome)
            return [(ev.REJECTED, order.seq, outcome.reason)]
        self._apply(acct, exp, is_buy, remaining, outcome)
        order.held_qty, order.held_price, order.held_notional = remaining, outcome[2], outcome[3]
        self._dirty.add((order.account_id, order.instrument_id))
        return None

    def _assess(
        self,
        acct: AccountRisk,
        info: InstrumentInfo,
        exp: Exposure,
        is_buy: bool,
        total: int,
        qty: int,
        kind: str,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
    ) -> Refusal | tuple:
        """Every size, price and exposure check for `qty` more shares, in order; the first
        refusal, or the instrument's new terms (gross, required, price, notional).

        Each condition is tested inline (the hot path) and the matching `checks` function, which
        states the rule and words the refusal, is only called when it is broken.
        """
        limits = acct.limits
        if total > limits.max_order_qty:
            return checks.order_qty(total, limits.max_order_qty)
        mark = info.mark
        price = limit_price or stop_price or mark or ZERO
        notional = qty * price
        if notional > limits.max_order_notional:
            return checks.order_notional(notional, limits.max_order_notional)
        if limit_price is not None:
            if kind == "stop_limit":  # its limit price is collared around its own stop price
                refusal = checks.price_collar(
                    limit_price, stop_price, limits.price_collar_pct, "stop price"
                )
                if refusal is not None:
                    return refusal
            elif mark is not None:
                band = acct.bands.get(info.id)
                if band is None or band[0] is not mark:  # the band moves with the mark
                    width = mark * limits.price_collar_pct / HUNDRED
                    band = acct.bands[info.id] = (mark, mark - width, mark + width)
                if limit_price > band[2] or limit_price < band[1]:
                    return checks.price_collar(
                        limit_price, mark, limits.price_collar_pct, "reference price"
                    )
        worker = self.worker
        if worker is not None:
            volume = worker.volume.get(info.symbol, 0)
            if volume >= self.min_volume:
                # qty x 100 > pct x volume  <=>  qty > floor(pct x volume / 100), for whole qty
                cap = acct.caps.get(info.id)
                if cap is None or cap[0] != volume:
                    most = int(limits.max_volume_pct * volume / HUNDRED)
                    cap = acct.caps[info.id] = (volume, most)
                if qty > cap[1]:
                    return checks.liquidity(qty, volume, limits.max_volume_pct, info.symbol)
        position_limit = limits.max_position_qty
        if info.max_position is not None and info.max_position < position_limit:
            position_limit = info.max_position
        if is_buy:
            if exp.pos + exp.open_buy + qty > position_limit:
                return checks.position(True, qty, exp, position_limit, info.symbol)
            open_buy = exp.open_buy + qty
            buy_notional = exp.open_buy_notional + notional
            open_sell = exp.open_sell
        else:
            if exp.open_sell + qty - exp.pos > position_limit:
                return checks.position(False, qty, exp, position_limit, info.symbol)
            open_buy, buy_notional = exp.open_buy, exp.open_buy_notional
            open_sell = exp.open_sell + qty
        if mark is None:
            mark = info.mark = price  # first price seen values the instrument until it trades
            self.marks_version += 1
        gross = gross_term(exp.pos, open_buy, open_sell, mark)
        gross_delta = gross - exp.gross
        if gross_delta > ZERO and acct.gross + gross_delta > limits.max_gross_exposure:
            return checks.gross_exposure(acct, exp.gross, gross, limits.max_gross_exposure)
        required = cash_required(exp.pos, open_buy, buy_notional, open_sell, mark, info.margin)
        delta = required - exp.required
        if delta > ZERO and delta > acct.cash - acct.committed:
            return checks.buying_power(
                acct, is_buy, exp.required, required, qty, info.symbol, info.margin
            )
        return (gross, required, price, notional, gross_delta, delta)

    # ------------------------------------------------------------------------------ bookkeeping

    @staticmethod
    def _apply(acct: AccountRisk, exp: Exposure, is_buy: bool, qty: int, outcome: tuple) -> None:
        gross, required, _price, notional, gross_delta, required_delta = outcome
        if is_buy:
            exp.open_buy += qty
            exp.open_buy_notional += notional
        else:
            exp.open_sell += qty
        acct.gross += gross_delta
        acct.committed += required_delta
        exp.gross, exp.required = gross, required

    def _release(self, acct: AccountRisk, exp: Exposure, order: LiveOrder) -> None:
        self._shift(exp, order.side == "buy", -order.held_qty, -order.held_notional)
        self._recompute(acct, order.instrument_id, exp)

    def _restore(self, acct: AccountRisk, exp: Exposure, order: LiveOrder) -> None:
        self._shift(exp, order.side == "buy", order.held_qty, order.held_notional)
        self._recompute(acct, order.instrument_id, exp)

    @staticmethod
    def _shift(exp: Exposure, is_buy: bool, qty: int, notional: Decimal) -> None:
        if is_buy:
            exp.open_buy += qty
            exp.open_buy_notional += notional
        else:
            exp.open_sell += qty

    def _recompute(self, acct: AccountRisk, instrument_id: int, exp: Exposure) -> None:
        """Re-derive one instrument's terms (at the current mark) and adjust the totals."""
        info = self.instruments.get(instrument_id)
        mark = info.mark if info is not None and info.mark is not None else ZERO
        margin = info.margin if info is not None else ZERO
        gross = gross_term(exp.pos, exp.open_buy, exp.open_sell, mark)
        required = cash_required(
            exp.pos, exp.open_buy, exp.open_buy_notional, exp.open_sell, mark, margin
        )
        acct.gross += gross - exp.gross
        acct.committed += required - exp.required
        exp.gross, exp.required = gross, required

    def _revalue(self, acct: AccountRisk, halt: bool = False) -> None:
        """Every term at the current marks, equity and the day's P&L, usage warnings."""
        self._recompute_all(acct)
        revalue(acct, self.instruments)
        acct.valued = self.marks_version
        self._evaluate(acct, halt)

    def _recompute_all(self, acct: AccountRisk) -> None:
        acct.gross = acct.committed = ZERO
        for iid, exp in list(acct.exposures.items()):
            if not (exp.pos or exp.open_buy or exp.open_sell):
                del acct.exposures[iid]
                continue
            exp.gross = exp.required = ZERO
            self._recompute(acct, iid, exp)

    def _reserve_live(self, order: LiveOrder) -> None:
        """Count an order that was already live when the gate started (recovery)."""
        acct = self.accounts.get(order.account_id)
        if acct is None:
            return
        info = self.instruments.get(order.instrument_id)
        qty = order.qty - order.filled_qty
        price = order.limit_price or order.stop_price or (info.mark if info else None) or ZERO
        exp = acct.exposures.setdefault(order.instrument_id, Exposure())
        order.held_qty, order.held_price, order.held_notional = qty, price, qty * price
        self._restore(acct, exp, order)

    def _apply_batch(self, result) -> None:
        if not self._started:
            return
        worker = self.worker
        for symbol, (price, _ts) in result.last_prices.items():
            iid = worker.instruments[symbol][0] if worker is not None else None
            info = self.instruments.get(iid)
            if info is not None and info.mark != price:
                info.mark = price
                self.marks_version += 1
        touched, self._dirty = self._dirty, set()
        accounts = self.accounts
        for fill in result.fills:
            qty, iid = fill.qty, fill.instrument_id
            notional = qty * fill.price
            if fill.taker_side == "buy":
                buyer, seller = fill.taker.account_id, fill.maker.account_id
            else:
                buyer, seller = fill.maker.account_id, fill.taker.account_id
            acct = accounts.get(buyer)
            if acct is not None:
                exp = acct.exposures.get(iid)
                if exp is None:
                    exp = acct.exposures[iid] = Exposure()
                exp.pos += qty
                acct.cash -= notional
                touched.add((buyer, iid))
            acct = accounts.get(seller)
            if acct is not None:
                exp = acct.exposures.get(iid)
                if exp is None:
                    exp = acct.exposures[iid] = Exposure()
                exp.pos -= qty
                acct.cash += notional
                touched.add((seller, iid))
        for order in result.touched.values():
            held = order.held_price
            if held is None:
                continue  # not counted by the gate (refused, or checks were off)
            held_qty, held_notional = order.held_qty, order.held_notional
            if order.status in OPEN:
                remaining = order.qty - order.filled_qty
                price = order.limit_price
                if price is None:
                    price = held
                if remaining == held_qty and price == held:
                    continue
                notional = remaining * price
                order.held_qty, order.held_price, order.held_notional = remaining, price, notional
            else:  # closed: whatever it still held is free
                remaining, notional = 0, ZERO
                order.held_qty, order.held_price, order.held_notional = 0, None, ZERO
            acct = accounts.get(order.account_id)
            if acct is not None:
                iid = order.instrument_id
                exp = acct.exposures.get(iid)
                if exp is None:
                    exp = acct.exposures[iid] = Exposure()
                if order.side == "buy":
                    exp.open_buy += remaining - held_qty
                    exp.open_buy_notional += notional - held_notional
                else:
                    exp.open_sell += remaining - held_qty
                touched.add((order.account_id, iid))
        seen: set[int] = set()
        for account_id, iid in touched:
            acct = accounts.get(account_id)
            if acct is None:
                continue
            exp = acct.exposures.get(iid)
            if exp is not None:
                self._recompute(acct, iid, exp)
                self._position_usage(acct, iid, exp)
            seen.add(account_id)
        version = self.marks_version
        for account_id in seen:
            acct = accounts[account_id]
            if acct.valued != version:
                self._recompute_all(acct)  # its other instruments at the new marks too
            revalue(acct, self.instruments)
            acct.valued = version
            self._evaluate(acct)

    # ------------------------------------------------------------------------------ loading

    def _start(self) -> None:
        """First batch: instruments, then every order live in the books counts from now on."""
        self.changes.start()  # before reading any state: a later change is seen next batch
        self.instruments = load_instruments()
        self._marks_at = self._snapshot_at = time.monotonic()
        live = list(self.worker.live.values()) if self.worker is not None else []
        ids = {o.account_id for o in live} | set(self.accounts)  # (met before a failed start)
        if ids:
            self._fresh.update(ids)
            self._load(ids)
        for order in live:
            self._reserve_live(order)
        for account_id in ids:
            acct = self.accounts.get(account_id)
            if acct is not None:
                revalue(acct, self.instruments)
        self._started = True

    def _load(self, ids: set[int], halt: bool = True) -> None:
        if not self._started and not self.instruments:
            self.instruments = load_instruments()
        for chunk in _chunks(sorted(ids), LOAD_CHUNK):
            self._load_chunk(chunk, halt)

    def _load_chunk(self, ids: list[int], halt: bool) -> None:
        rows = load_accounts(ids)
        positions = load_positions(ids)
        limits = load_limits(ids)
        today = timezone.now().date()
        loaded: list[AccountRisk] = []
        for account_id in ids:
            row = rows.get(account_id)
            if row is None:
                continue
            cash, halted, halted_reason = row
            lim = limits[account_id]
            acct = self.accounts.get(account_id)
            if acct is None:
                acct = AccountRisk(
                    account_id, cash, lim, TokenBucket(lim.max_orders_per_second, 0.0)
                )
                self.accounts[account_id] = acct
            else:
                acct.cash = cash
                if acct.limits != lim:
                    acct.limits = lim
                    acct.bands.clear()
                    acct.caps.clear()
                    acct.bucket.set_rate(lim.max_orders_per_second)
            acct.halted = (halted_reason or DEFAULT_ACCOUNT_REASON) if halted else None
            held = positions.get(account_id, {})
            for iid, exp in acct.exposures.items():
                exp.pos = held.get(iid, 0)
            for iid, qty in held.items():
                if iid not in acct.exposures:
                    acct.exposures[iid] = Exposure(pos=qty)
            self._recompute_all(acct)
            loaded.append(acct)
        self._baselines([a for a in loaded if a.day != today])
        for acct in loaded:
            revalue(acct, self.instruments)
            acct.valued = self.marks_version
            self._evaluate(acct, halt)

    def _baselines(self, accounts: list[AccountRisk]) -> None:
        """Start-of-day equity for accounts seen for the first time today; record the missing."""
        if not accounts:
            return
        now = timezone.now()
        found = load_baselines([a.account_id for a in accounts], now)
        missing = []
        for acct in accounts:
            acct.sod_equity = None
            revalue(acct, self.instruments)
            baseline = found.get(acct.account_id)
            if baseline is None:
                baseline = acct.equity
                missing.append(acct)
            acct.sod_equity = baseline
            acct.day = now.date()
        if missing:
            from trading_app.models import EquitySnapshot

            EquitySnapshot.objects.bulk_create(snapshot_rows(missing, self.instruments, now))

    def _reload_instruments(self) -> None:
        fresh = load_instruments()
        for iid, info in fresh.items():
            known = self.instruments.get(iid)
            if known is None:
                self.instruments[iid] = info
                self.marks_version += 1
            else:
                if info.mark is not None and info.mark != known.mark:
                    known.mark = info.mark
                    self.marks_version += 1
                known.margin, known.max_position = info.margin, info.max_position

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if not self._started:
            self._start()
            return
        if now - self._marks_at >= config.marks_refresh_seconds():
            self._marks_at = now
            self._reload_instruments()
            today = timezone.now().date()
            self._baselines([a for a in self.accounts.values() if a.day != today])
            for acct in self.accounts.values():
                if acct.exposures:
                    self._revalue(acct, halt=True)
        shard = self.worker.shard if self.worker is not None else 0
        if shard == 0 and now - self._snapshot_at >= config.snapshot_seconds():
            self._snapshot_at = now
            self._snapshot()
            prune()
        self.alerts.flush()

    def _snapshot(self) -> None:
        """Equity history: re-read every tracked account (fresh cash and positions), one insert."""
        from trading_app.risk.equity import write_snapshots

        ids = set(self.accounts)
        if not ids:
            return
        self._fresh.update(ids)
        self._load(ids)
        written = write_snapshots(
            [self.accounts[i] for i in sorted(ids) if i in self.accounts],
            self.instruments,
            timezone.now(),
        )
        log.debug("wrote %d equity snapshots", written)

    # ------------------------------------------------------------------------------ limits hit

    def _refuse(self, acct: AccountRisk, refusal: Refusal) -> str:
        self.alerts.breach(
            acct.account_id, refusal.code, refusal.message, refusal.value, refusal.limit
        )
        return refusal.reason

    def _halt_for_loss(self, acct: AccountRisk, refusal: Refusal) -> None:
        """Daily loss limit broken: halt the account durably and cancel its orders everywhere."""
        if acct.halted is not None:
            return
        acct.halted = refusal.reason
        self.alerts.breach(
            acct.account_id, refusal.code, refusal.message, refusal.value, refusal.limit
        )
        shard = self.worker.shard if self.worker is not None else None
        try:
            halt_account(acct.account_id, refusal.reason, skip_shard=shard)
        except Exception:
            log.exception("could not record the halt of account %s", acct.account_id)
        self._pending_halts.append(acct.account_id)

    def _evaluate(self, acct: AccountRisk, halt: bool = True) -> None:
        """Daily loss (halts on a breach) and usage warnings of the account-wide limits.

        Each reading is compared inline first: the alert machinery (and its wording) only runs
        when usage is past the warning level or an earlier warning has to be re-armed.
        """
        limits = acct.limits
        warn = self.warn
        levels = acct.alert_levels
        pct = int(warn * 100)
        loss = -acct.day_pnl
        limit = limits.max_daily_loss
        if loss > limit:
            if halt:
                self._halt_for_loss(acct, checks.daily_loss(acct))
        elif loss >= limit * warn or levels:
            self.alerts.usage(
                levels,
                acct.account_id,
                codes.DAILY_LOSS,
                codes.DAILY_LOSS,
                loss,
                limit,
                limit * warn,
                lambda: f"the day's loss {checks.money(loss)} is over {pct}% of the limit "
                f"{checks.money(limit)}",
            )
        gross, gross_limit = acct.gross, limits.max_gross_exposure
        if gross >= gross_limit * warn or levels:
            self.alerts.usage(
                levels,
                acct.account_id,
                codes.MAX_GROSS_EXPOSURE,
                codes.MAX_GROSS_EXPOSURE,
                gross,
                gross_limit,
                gross_limit * warn,
                lambda: f"gross exposure {checks.money(gross)} is over {pct}% of the limit "
                f"{checks.money(gross_limit)}",
            )
        cash, committed = acct.cash, acct.committed
        if cash > 0 and (committed >= cash * warn or levels):
            self.alerts.usage(
                levels,
                acct.account_id,
                codes.BUYING_POWER,
                codes.BUYING_POWER,
                committed,
                cash,
                cash * warn,
                lambda: f"open orders and shorts hold {checks.money(committed)}, over {pct}% "
                f"of the cash {checks.money(cash)}",
            )

    def _position_usage(self, acct: AccountRisk, iid: int, exp: Exposure) -> None:
        info = self.instruments.get(iid)
        if info is None:
            return
        limit = acct.limits.max_position_qty
        if info.max_position is not None and info.max_position < limit:
            limit = info.max_position
        worst = max(exp.pos + exp.open_buy, exp.open_sell - exp.pos)
        if worst < limit * self.warn and not acct.alert_levels:
            return
        pct = int(self.warn * 100)
        self.alerts.usage(
            acct.alert_levels,
            acct.account_id,
            f"{codes.MAX_POSITION}:{info.symbol}",
            codes.MAX_POSITION,
            worst,
            limit,
            limit * self.warn,
            lambda: f"{info.symbol}: the position could reach {worst} with open orders, over "
            f"{pct}% of the limit {limit}",
        )

    def _rate_usage(self, acct: AccountRisk) -> None:
        rate = acct.limits.max_orders_per_second
        used = rate - int(acct.bucket.tokens)
        self.alerts.usage(
            acct.alert_levels,
            acct.account_id,
            codes.RATE_LIMIT,
            codes.RATE_LIMIT,
            used,
            rate,
            rate * float(self.warn),
            lambda: f"{used} of {rate} orders in the last second",
        )


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]
