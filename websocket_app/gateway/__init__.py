"""The lean WebSocket gateway: the plumbing shared by /ws/orders/ and /ws/market_data/.

Small modules with one job each: `hub` (one channel-layer receiver per group, local fan-out),
`connection` (ASGI plumbing and a bounded, non-blocking outbox per socket), `instruments`
(in-process instrument specs for validation), `order_pipe` (orders coalesced per event-loop
tick into one message per shard), `order_messages` and `market_messages` (the wire formats).
"""
