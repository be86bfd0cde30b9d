"""WebSocket routes; the real-time issue adds the consumers."""

websocket_urlpatterns: list = []
