"""The channel-layer group names every part agrees on (docs/architecture.md).

Plain Python, no Django import: the strategy layer (algo_trading/live, the simulator) uses them
too.
"""


def account_group(account_id: int) -> str:
    """Execution reports and risk alerts of one account."""
    return f"account.{account_id}"


def market_group(symbol: str) -> str:
    """The exchange's depth changes, trades and quotes of one symbol."""
    return f"market.{symbol}"


def prices_group(symbol: str) -> str:
    """The price feed's ticks of one symbol."""
    return f"prices.{symbol}"
