"""WebSocket consumers, one module per stream."""
