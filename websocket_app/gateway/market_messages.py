"""The /ws/market_data/ wire format (Coinbase level2 style), built from the worker's messages.

The worker publishes one `market.update` per symbol per committed batch, numbered by
`sequence` (+1 each, per symbol). Every client message carries the sequence of the book version
it belongs to; the frames of one update are encoded once and shared by every subscriber.
"""

from __future__ import annotations

from typing import Any

from websocket_app.gateway.jsonwire import dumps

CHANNELS = ("trades", "level2", "ticker")  # also the order of the frames of one update
MAX_DEPTH = 50
DEFAULT_DEPTH = 10


def _trade(symbol: str, sequence: int, trade: dict) -> dict:
    return {
        "type": "trade",
        "symbol": symbol,
        "sequence": sequence,
        "trade_id": trade.get("execution_id"),
        "price": trade.get("price"),
        "size": str(trade.get("qty")),
        "side": trade.get("side"),
        "time": trade.get("timestamp"),
    }


def _ticker(symbol: str, sequence: int, quote: dict) -> dict:
    return {
        "type": "ticker",
        "symbol": symbol,
        "sequence": sequence,
        "price": quote.get("price"),
        "best_bid": quote.get("bid"),
        "best_ask": quote.get("ask"),
        "volume": quote.get("volume"),
        "time": quote.get("timestamp"),
    }


def update_frames(message: dict) -> dict[str, list[str]]:
    """Encoded frames per channel for one worker `market.update` (memoised on the message).

    Order within an update: trades, then the l2update, then the ticker, so a client that applies
    the l2update already knows the trades that caused it.
    """
    frames = message.get("__frames")
    if frames is not None:
        return frames
    symbol, sequence = message["symbol"], message["sequence"]
    quote = message.get("quote") or {}
    frames = {
        "trades": [dumps(_trade(symbol, sequence, t)) for t in message.get("trades") or ()],
        "level2": [
            dumps(
                {
                    "type": "l2update",
                    "symbol": symbol,
                    "sequence": sequence,
                    "changes": [
                        [side, price, str(size)]
                        for side, price, size in message.get("changes") or ()
                    ],
                    "time": quote.get("timestamp"),
                }
            )
        ],
        "ticker": [dumps(_ticker(symbol, sequence, quote))] if quote else [],
    }
    message["__frames"] = frames
    return frames


def snapshot_frame(symbol: str, snapshot: dict | None, depth: int, reason: str) -> tuple[int, str]:
    """(sequence, encoded snapshot) from the worker's cached `book:<SYMBOL>` (None: no book yet)."""
    snapshot = snapshot or {}
    sequence = int(snapshot.get("sequence") or 0)
    trades = snapshot.get("trades") or []
    payload: dict[str, Any] = {
        "type": "snapshot",
        "symbol": symbol,
        "sequence": sequence,
        "depth": depth,
        "bids": [[price, str(size)] for price, size in (snapshot.get("bids") or [])[:depth]],
        "asks": [[price, str(size)] for price, size in (snapshot.get("asks") or [])[:depth]],
        "trades": [_trade(symbol, sequence, t) for t in trades],
        "reason": reason,
    }
    if not snapshot:
        payload["stale"] = True  # no matching worker has published this book yet
    return sequence, dumps(payload)


def parse_depth(raw: str | None) -> int:
    try:
        depth = int(raw) if raw not in (None, "") else DEFAULT_DEPTH
    except ValueError:
        return DEFAULT_DEPTH
    return max(1, min(depth, MAX_DEPTH))


def parse_channels(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return CHANNELS
    asked = {p.strip() for p in raw.split(",")}
    return tuple(c for c in CHANNELS if c in asked) or CHANNELS
