"""Small helpers shared by the engine tests: an engine with books, and event filters."""

from __future__ import annotations

from matching import events as ev
from matching.codes import BUY, GTC, LIMIT, MARKET, SELL
from matching.engine import Engine


def engine(*symbols: str) -> Engine:
    eng = Engine()
    for symbol in symbols or ("X",):
        eng.add_book(symbol)
    return eng


def kinds(events: list[tuple]) -> list[int]:
    return [e[0] for e in events]


def fills(events: list[tuple]) -> list[tuple[int, int, int, int]]:
    """(price, qty, taker_id, maker_id) of each FILL, in order."""
    return [(e[2], e[3], e[4], e[5]) for e in events if e[0] == ev.FILL]


def only(events: list[tuple], kind: int) -> list[tuple]:
    return [e for e in events if e[0] == kind]


def limit(eng: Engine, oid: int, side: int, qty: int, price: int, account: int = 1, tif: int = GTC):
    return eng.submit(oid, account, "X", side, LIMIT, tif, qty, price)


def market(eng: Engine, oid: int, side: int, qty: int, account: int = 1, tif: int = GTC):
    return eng.submit(oid, account, "X", side, MARKET, tif, qty)


def buy(eng: Engine, oid: int, qty: int, price: int, account: int = 1, tif: int = GTC):
    return limit(eng, oid, BUY, qty, price, account, tif)


def sell(eng: Engine, oid: int, qty: int, price: int, account: int = 1, tif: int = GTC):
    return limit(eng, oid, SELL, qty, price, account, tif)
