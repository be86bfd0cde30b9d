"""WebSocket routes; the real-time issue adds the consumers."""

from django.urls import re_path

from websocket_app.consumers.market_data import MarketDataConsumer
from websocket_app.consumers.orders import OrdersConsumer
from websocket_app.consumers.stocks import StockPriceConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/stocks/(?P<ticker>[^/]+)/?$", StockPriceConsumer.as_asgi()),
    re_path(r"^ws/market_data/(?P<symbol>[^/]+)/?$", MarketDataConsumer.as_asgi()),
    re_path(r"^ws/orders/?$", OrdersConsumer.as_asgi()),
]
