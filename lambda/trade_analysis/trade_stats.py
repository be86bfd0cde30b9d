"""Accumulate one day of trades row by row: the hot loop of the analysis.

Why it looks like this: the target is 500,000 rows/s, and the csv module alone takes about 40% of
that budget. So rows are split with str.split(",") (a third of csv.reader's cost) wherever that
gives the same fields: in batches of lines with no quote, CR or LF in them, which is every batch
of our own exports. From the first batch that has one, the csv module reads the rest of the file
(a quoted field may span lines and batches). The loop itself parses nothing. Each field is looked up in a cache that maps the raw
string to what it contributes, and only the checks in trade_rules may add to a cache. A miss (new
ticker, price or quantity, the first trade of a minute, or a bad field) goes to `_slow_row`,
which validates the whole row, fills the caches and applies it. Every row meets the same rules;
the common row costs a few dict operations.

Prices are not converted per row either: each ticker keeps volume per distinct price string, and
notional, high and low come out of that table at the end in exact Decimal arithmetic. Among
equal values, high and low keep the spelling that comes first in the file ("1.5" before "1.50").

Line numbers are worked out only for rows that leave the fast path, from how many lines the
batch iterator still holds (its __length_hint__): a counter in the loop cost 2% of the
instructions. Batches are small (PLAIN_BATCH_LINES) to stay in cache: see trade_lines.DECODE_BYTES.

`merge` adds up the DayStats of consecutive parts of one file (trade_parallel's byte ranges) with
the per-row tie rules, so the merged figures are the single pass's, byte for byte.

Known limit of the fast path: a 27-character timestamp whose "YYYY-MM-DDTHH:MM:" was validated by
an earlier row is taken as written; its last 10 characters are not checked again. A bad seconds
field ("14:31:99.000000Z") then passes, and so does an offset form of that length
("2025-01-20T14:31:05.1+01:00"), unconverted: its hour, and open/close ordering, can be off.
Checking those 10 characters on every row costs 6-22% of the loop, and our exporter always
writes the canonical form. Because of this limit, whether such a row is accepted depends on the
rows before it; DayStats records the minutes where that happened (`trust_sensitive`) so that
`merge` can refuse a merge whose result could differ from a single pass.
"""

from __future__ import annotations

import csv
import decimal
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import Decimal
from itertools import chain, islice, repeat
from typing import Any

from trade_rules import (
    CANONICAL_TS_LEN,
    HEADER,
    MINUTE_PREFIX_LEN,
    RowError,
    canonical_timestamp,
    check_ticker,
    parse_price,
    parse_quantity,
    parse_side,
)

MAX_SAMPLES = 10  # malformed rows reported with line number and reason
QTY_CACHE_LIMIT = 1 << 16  # distinct quantity strings cached; past that, misses take the slow path
PRICE_TABLE_LIMIT = 1 << 14  # distinct prices kept per ticker before folding into Decimal totals
_AFTER_ANY_TIMESTAMP = "\U0010ffff"
PLAIN_BATCH_LINES = 512  # lines checked for quotes/CR/LF at once (~37 KB joined: see DECODE_BYTES)

# Sums of price * quantity never round: a rounding would raise instead of going unnoticed.
EXACT = decimal.Context(prec=100, traps=[decimal.Inexact, decimal.InvalidOperation])


class TradeCsvError(ValueError):
    """The stream is not a trade CSV at all (no header, wrong header): nothing to analyse."""


class NoHeader(TradeCsvError):
    """The lines ran out before a header line (all blank, or none at all)."""


class NotPlain(Exception):
    """consume(plain_only=True) met a quote, CR or LF: this part needs the csv module, which can
    only read a file from its start (a quoted field may span lines)."""


class NotMergeable(Exception):
    """merge cannot promise the single pass's result (see the fast path's known limit)."""


class TickerStats:
    """Running figures for one ticker.

    `buckets[hour * 2 + side]` is volume per UTC hour and side (0 buy, 1 sell): total, buy, sell
    and hourly volume all come out of it. Open/close/largest keep the whole row (a reference,
    no copy) so their fields are only read once, at the end.
    """

    __slots__ = (
        "volume_by_price",
        "buckets",
        "count",
        "max_qty",
        "max_ts",
        "max_row",
        "open_ts",
        "open_row",
        "close_ts",
        "close_row",
        "folded_notional",
        "folded_high",
        "folded_low",
    )

    def __init__(self) -> None:
        self.volume_by_price: dict[str, int] = {}
        self.buckets = [0] * 48
        self.count = 0
        self.max_qty = 0
        self.max_ts = ""
        self.max_row: list[str] | None = None
        self.open_ts = _AFTER_ANY_TIMESTAMP
        self.open_row: list[str] | None = None
        self.close_ts = ""
        self.close_row: list[str] | None = None
        self.folded_notional = Decimal(0)
        self.folded_high: Decimal | None = None
        self.folded_low: Decimal | None = None

    def add_price(self, price: str) -> None:
        """Start a volume entry for a validated price; fold first if the table is large.

        Folding bounds memory on a file where nearly every price differs.
        """
        if len(self.volume_by_price) >= PRICE_TABLE_LIMIT:
            self.fold_prices()
        self.volume_by_price[price] = 0

    def fold_prices(self) -> None:
        """Move the price table into exact notional, high and low, and empty it."""
        table = self.volume_by_price
        if not table:
            return
        prices = [Decimal(p) for p in table]
        notional = self.folded_notional
        for price, volume in zip(prices, table.values(), strict=True):
            notional = EXACT.add(notional, EXACT.multiply(price, volume))
        high, low = max(prices), min(prices)
        if self.folded_high is not None:  # on a tie, the spelling seen first stays
            high, low = max(self.folded_high, high), min(self.folded_low, low)
        self.folded_notional, self.folded_high, self.folded_low = notional, high, low
        table.clear()

    def price_summary(self) -> tuple[Decimal, Decimal, Decimal]:
        """Return (notional, high, low) of everything seen; the ticker has at least one trade."""
        self.fold_prices()
        assert self.folded_high is not None and self.folded_low is not None
        return self.folded_notional, self.folded_high, self.folded_low

    def merge(self, later: TickerStats) -> None:
        """Add the figures of `later`, which saw only rows that come after all of this one's.

        Ties go as in the per-row loop: the first such row keeps open and largest, the last
        one close, and high and low keep the first spelling of equal values.
        """
        self.fold_prices()
        later.fold_prices()
        self.folded_notional = EXACT.add(self.folded_notional, later.folded_notional)
        if self.folded_high is None or self.folded_low is None:
            self.folded_high, self.folded_low = later.folded_high, later.folded_low
        elif later.folded_high is not None and later.folded_low is not None:
            self.folded_high = max(self.folded_high, later.folded_high)
            self.folded_low = min(self.folded_low, later.folded_low)
        self.buckets = [a + b for a, b in zip(self.buckets, later.buckets, strict=True)]
        self.count += later.count
        if later.max_qty > self.max_qty:
            self.max_qty, self.max_ts, self.max_row = later.max_qty, later.max_ts, later.max_row
        if later.open_ts < self.open_ts:
            self.open_ts, self.open_row = later.open_ts, later.open_row
        if later.close_ts >= self.close_ts:
            self.close_ts, self.close_row = later.close_ts, later.close_row


class DayStats:
    """All tickers of one UTC day, plus the malformed-row report.

    `day` fixes which date timestamps must fall on; without it the first valid row decides.
    """

    def __init__(self, day: date | None = None, max_samples: int = MAX_SAMPLES) -> None:
        self.day: str | None = day.isoformat() if day else None
        self.tickers: dict[str, TickerStats] = {}
        self.price_places = 0
        self.malformed = 0
        self.samples: list[dict[str, object]] = []
        self.blank_lines = 0
        self._max_samples = max_samples
        # Minute prefix "YYYY-MM-DDTHH:MM:" -> bucket index, one table per side, filled only with
        # prefixes of validated canonical timestamps on `day`.
        self._minutes: tuple[dict[str, int], dict[str, int]] = ({}, {})
        # Side spelling as written -> that side's minute table.
        self._side_minutes: dict[str, dict[str, int]] = {
            "buy": self._minutes[0],
            "sell": self._minutes[1],
        }
        self._quantities: dict[str, int] = {}
        # Minute prefixes of 27-character timestamps this pass rejected or rewrote before it had
        # cached the minute: a pass that had cached it would have taken them as written.
        self.trust_sensitive: set[str] = set()

    @property
    def trades(self) -> int:
        return sum(st.count for st in self.tickers.values())

    def consume(
        self, lines: Iterable[str], *, header: bool = True, plain_only: bool = False
    ) -> int:
        """Read a CSV from an iterable of lines; return how many lines that was.

        header=False: the lines are a later part of a file, without the header; line numbers in
        the report then count from the part's first line. plain_only=True: raise NotPlain where
        the whole file would switch to the csv module (that needs the file from its start).
        """
        it = iter(lines)
        read = _read_header(it) if header else 0
        while batch := list(islice(it, PLAIN_BATCH_LINES)):
            joined = "".join(batch)
            if '"' in joined or "\r" in joined or "\n" in joined:
                del joined
                if plain_only:
                    raise NotPlain(f"a quote, CR or LF in lines {read + 1}-{read + len(batch)}")
                return self._consume_csv(chain(batch, it), read)
            del joined
            left = iter(batch)
            self._consume_rows(
                map(str.split, left, repeat(",")), _line_of(read + len(batch), left), [""]
            )
            read += len(batch)
        return read

    def _consume_csv(self, lines: Iterator[str], before: int) -> int:
        """The rest of the file through the csv module; `before` lines were read already."""
        reader = csv.reader(lines)

        def line_of() -> int:
            return before + reader.line_num

        while True:
            try:
                self._consume_rows(reader, line_of, [])
                return line_of()
            except csv.Error as exc:  # a broken line: a stray CR, a field over 128 KiB...
                self._report(line_of(), f"unreadable CSV line: {exc}")  # ...then go on

    def _consume_rows(
        self, rows: Iterable[list[str]], line_of: Callable[[], int], blank: list[str]
    ) -> None:
        """The hot loop: known fields take a few dict operations; anything else goes slow.

        `line_of()` is the file line of the row just taken from `rows`, asked only on the slow
        path; `blank` is what an empty line looks like in `rows`.
        """
        tickers = self.tickers
        side_minutes = self._side_minutes
        quantities = self._quantities
        slow_row = self._slow_row
        for row in rows:
            try:
                _tid, ts, ticker, side, price, qty_text, _account, _order, _source = row
                st = tickers[ticker]
                bucket = side_minutes[side][ts[:-10]]  # also checks len(ts) == 27
                qty = quantities[qty_text]
                st.volume_by_price[price] += qty  # raises before writing if price is new
            except (LookupError, ValueError):
                slow_row([] if row == blank else row, line_of())
                continue
            # Same updates as _apply, inlined: a call per row would cost ~10% of the budget.
            st.buckets[bucket] += qty
            st.count += 1
            if qty > st.max_qty:
                st.max_qty = qty
                st.max_ts = ts
                st.max_row = row
            if ts < st.open_ts:
                st.open_ts = ts
                st.open_row = row
            if ts >= st.close_ts:
                st.close_ts = ts
                st.close_row = row

    def merge(self, later: DayStats, line_offset: int) -> None:
        """Add the figures of `later`, which read the lines that follow all of this one's.

        `later` numbered its lines from 1: its line n is line_offset + n of the whole file.
        Raises NotMergeable, changing nothing, if `later` rejected or rewrote a timestamp in a
        minute this one has cached, which a single pass would have taken as written.
        """
        if not later.trust_sensitive.isdisjoint(self._minutes[0]):
            raise NotMergeable(
                "timestamps in minutes "
                f"{', '.join(sorted(later.trust_sensitive.intersection(self._minutes[0])))} "
                "would be judged differently by a single pass"
            )
        for name, theirs in later.tickers.items():
            ours = self.tickers.get(name)
            if ours is None:
                theirs.fold_prices()
                self.tickers[name] = theirs
            else:
                ours.merge(theirs)
        for ours_by_side, theirs_by_side in zip(self._minutes, later._minutes, strict=True):
            ours_by_side.update(theirs_by_side)
        self.trust_sensitive |= later.trust_sensitive
        self.price_places = max(self.price_places, later.price_places)
        self.malformed += later.malformed
        self.blank_lines += later.blank_lines
        for sample in later.samples[: max(self._max_samples - len(self.samples), 0)]:
            self.samples.append({**sample, "line": line_offset + sample["line"]})
        if self.day is None:
            self.day = later.day

    def __getstate__(self) -> dict[str, object]:
        """What merge needs, which is what a worker process sends back (pickled): the figures,
        the minutes cached, not the other caches. Price tables are folded into a few Decimals."""
        for st in self.tickers.values():
            st.fold_prices()
        return {
            "day": self.day,
            "max_samples": self._max_samples,
            "tickers": self.tickers,
            "price_places": self.price_places,
            "malformed": self.malformed,
            "samples": self.samples,
            "blank_lines": self.blank_lines,
            "minutes": self._minutes[0],
            "trust_sensitive": self.trust_sensitive,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        day = state["day"]
        self.__init__(date.fromisoformat(day) if day else None, state["max_samples"])  # type: ignore[misc]
        self.tickers = state["tickers"]
        self.price_places = state["price_places"]
        self.malformed = state["malformed"]
        self.samples = state["samples"]
        self.blank_lines = state["blank_lines"]
        for prefix, bucket in state["minutes"].items():
            self._minutes[0][prefix] = bucket
            self._minutes[1][prefix] = bucket + 1
        self.trust_sensitive = state["trust_sensitive"]

    def _slow_row(self, row: list[str], line: int) -> None:
        """Validate a row the fast path could not take, fill the caches, apply it or report it."""
        if not row:
            self.blank_lines += 1
            return
        try:
            st, ts, bucket, qty = self._admit(row)
        except RowError as exc:
            self._report(line, str(exc))
            return
        _apply(st, ts, bucket, row[4], qty, row)

    def _note_trust_sensitive(self, ts_text: str) -> None:
        """A timestamp rejected or rewritten whose minute the fast path could have known."""
        if len(ts_text) == CANONICAL_TS_LEN:
            self.trust_sensitive.add(ts_text[:MINUTE_PREFIX_LEN])

    def _report(self, line: int, reason: str) -> None:
        self.malformed += 1
        if len(self.samples) < self._max_samples:
            self.samples.append({"line": line, "reason": reason})

    def _admit(self, row: list[str]) -> tuple[TickerStats, str, int, int]:
        """Check the fields the caches do not know yet (raising RowError), then cache them.

        Fields the caches know were checked by an earlier row, so a row that only brings a new
        price or quantity costs a couple of microseconds, not a full validation. Checks run in
        column order, so the reason names the first bad field.
        Returns the ticker's stats, the canonical timestamp, the bucket and the quantity.
        """
        if len(row) != len(HEADER):
            raise RowError(f"expected {len(HEADER)} columns, got {len(row)}")
        _tid, ts_text, ticker, side_text, price, qty_text = row[:6]

        ts = ts_text
        minute_bucket = self._minutes[0].get(ts_text[:-10])
        if minute_bucket is None:
            try:
                ts = canonical_timestamp(ts_text)
            except RowError:
                self._note_trust_sensitive(ts_text)
                raise
            if ts != ts_text:
                self._note_trust_sensitive(ts_text)
            if self.day is None:
                self.day = ts[:10]
            elif ts[:10] != self.day:
                raise RowError(f"timestamp {ts_text!r} is not on {self.day} (UTC)")
        st = self.tickers.get(ticker)
        if st is None:
            check_ticker(ticker)
        minutes = self._side_minutes.get(side_text)
        side = parse_side(side_text) if minutes is None else int(minutes is self._minutes[1])
        places = None
        if st is None or price not in st.volume_by_price:
            places = parse_price(price)
        qty = self._quantities.get(qty_text)
        if qty is None:
            qty = parse_quantity(qty_text)

        # Every field is valid: remember what is new.
        if st is None:
            st = self.tickers[ticker] = TickerStats()
        if places is not None:
            st.add_price(price)
            self.price_places = max(self.price_places, places)
        if minutes is None:
            self._side_minutes[side_text] = self._minutes[side]
        if len(self._quantities) < QTY_CACHE_LIMIT:
            self._quantities[qty_text] = qty
        if minute_bucket is None:
            minute_bucket = int(ts[11:13]) * 2
            if ts == ts_text:  # canonical: later rows of this minute take the fast path
                prefix = ts[:MINUTE_PREFIX_LEN]
                self._minutes[0][prefix] = minute_bucket
                self._minutes[1][prefix] = minute_bucket + 1
        return st, ts, minute_bucket + side, qty


def _apply(st: TickerStats, ts: str, bucket: int, price: str, qty: int, row: list[str]) -> None:
    """Add one validated trade; the fast path in DayStats.consume is this, inlined."""
    st.volume_by_price[price] += qty
    st.buckets[bucket] += qty
    st.count += 1
    if qty > st.max_qty:
        st.max_qty = qty
        st.max_ts = ts
        st.max_row = row
    if ts < st.open_ts:
        st.open_ts = ts
        st.open_row = row
    if ts >= st.close_ts:
        st.close_ts = ts
        st.close_row = row


def _line_of(last_line: int, lines_left: Iterator[str]) -> Callable[[], int]:
    """The file line of the row just split from a batch whose last line is `last_line`: the
    batch's list iterator knows how many lines it has still to give."""
    return lambda: last_line - lines_left.__length_hint__()  # type: ignore[attr-defined]


def _read_header(lines: Iterator[str]) -> int:
    """Check the header (after any blank lines); return how many lines that took."""
    read = 0
    for line in lines:
        read += 1
        try:
            row = next(csv.reader([line]), [])
        except csv.Error as exc:
            raise TradeCsvError(f"unreadable CSV header: {exc}") from None
        if not row:
            continue
        names = tuple(cell.strip().lower() for cell in row)
        if names and names[0].startswith("\ufeff"):
            names = (names[0][1:], *names[1:])
        if names != HEADER:
            raise TradeCsvError(
                f"unexpected CSV header {','.join(row)!r}: expected {','.join(HEADER)!r}"
            )
        return read
    raise NoHeader("empty CSV: no header line")
