from django.urls import include, path
from rest_framework.routers import DefaultRouter

from trading_app.api import views

router = DefaultRouter()
router.register("orders", views.OrderViewSet, basename="order")
router.register("trades", views.TradeViewSet, basename="trade")
router.register("instruments", views.InstrumentViewSet, basename="instrument")
router.register("positions", views.PositionViewSet, basename="position")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("account/", views.AccountView.as_view(), name="account"),
    path("market-data/", views.MarketDataView.as_view(), name="market-data"),
    path("", include(router.urls)),
]
