"""WebSocket routes; the real-time issue adds the consumers."""

from django.urls import re_path

from websocket_app.consumers.stocks import StockPriceConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/stocks/(?P<ticker>[^/]+)/?$", StockPriceConsumer.as_asgi()),
]
