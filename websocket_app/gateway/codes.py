"""WebSocket close codes of the gateway (4000-4999 is the range reserved for applications)."""

UNAUTHENTICATED = 4401  # /ws/orders/ without a valid token or session
UNKNOWN_SYMBOL = 4404  # /ws/market_data/<symbol>/ for a symbol that is not listed
SLOW_CONSUMER = 4408  # the client read too slowly and its outbox overflowed
SERVER_ERROR = 1011
