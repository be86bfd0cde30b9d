"""The stable reason codes of the pre-trade checks: a rejection's reject_reason starts with one.

Clients match on the code (the text after the colon is for people and may change).
"""

MAX_ORDER_QTY = "MAX_ORDER_QTY"
MAX_ORDER_NOTIONAL = "MAX_ORDER_NOTIONAL"
PRICE_COLLAR = "PRICE_COLLAR"
MAX_POSITION = "MAX_POSITION"
MAX_GROSS_EXPOSURE = "MAX_GROSS_EXPOSURE"
BUYING_POWER = "BUYING_POWER"
SHORT_MARGIN = "SHORT_MARGIN"
RATE_LIMIT = "RATE_LIMIT"
LIQUIDITY = "LIQUIDITY"
DAILY_LOSS = "DAILY_LOSS"
ACCOUNT_HALTED = "ACCOUNT_HALTED"
EXCHANGE_HALTED = "EXCHANGE_HALTED"

ALL_CODES = (
    MAX_ORDER_QTY,
    MAX_ORDER_NOTIONAL,
    PRICE_COLLAR,
    MAX_POSITION,
    MAX_GROSS_EXPOSURE,
    BUYING_POWER,
    SHORT_MARGIN,
    RATE_LIMIT,
    LIQUIDITY,
    DAILY_LOSS,
    ACCOUNT_HALTED,
    EXCHANGE_HALTED,
)


def reason(code: str, text: str) -> str:
    """ "CODE: text", the one format of every risk rejection."""
    return f"{code}: {text}"
