from django.urls import include, path
from rest_framework.routers import DefaultRouter

import trading_app.api.strategy_views as strategy_views
from trading_app.api import analysis_views, risk_views, views

router = DefaultRouter()
router.register("orders", views.OrderViewSet, basename="order")
router.register("trades", views.TradeViewSet, basename="trade")
router.register("instruments", views.InstrumentViewSet, basename="instrument")
router.register("positions", views.PositionViewSet, basename="position")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("account/", views.AccountView.as_view(), name="account"),
    path("market-data/", views.MarketDataView.as_view(), name="market-data"),
    path("risk/limits/", risk_views.RiskLimitsView.as_view(), name="risk-limits"),
    path("risk/halt/", risk_views.HaltView.as_view(), name="risk-halt"),
    path("risk/resume/", risk_views.ResumeView.as_view(), name="risk-resume"),
    path("risk/metrics/", risk_views.RiskMetricsView.as_view(), name="risk-metrics"),
    path("trade-analysis/", analysis_views.TradeAnalysisView.as_view(), name="trade-analysis"),
    path("portfolio/", risk_views.PortfolioView.as_view(), name="portfolio"),
    path("portfolio/equity/", risk_views.EquityHistoryView.as_view(), name="portfolio-equity"),
    path("strategies/", strategy_views.StrategyListView.as_view(), name="strategy-list"),
    path("strategies/runs/", strategy_views.StrategyRunListView.as_view(), name="strategy-runs"),
    path(
        "strategies/runs/<int:pk>/",
        strategy_views.StrategyRunDetailView.as_view(),
        name="strategy-run-detail",
    ),
    path(
        "strategies/runs/<int:pk>/stop/",
        strategy_views.StrategyRunStopView.as_view(),
        name="strategy-run-stop",
    ),
    path("backtests/", strategy_views.BacktestListView.as_view(), name="backtests"),
    path(
        "backtests/<int:pk>/", strategy_views.BacktestDetailView.as_view(), name="backtest-detail"
    ),
    path(
        "backtests/<int:pk>/chart/",
        strategy_views.BacktestChartView.as_view(),
        name="backtest-chart",
    ),
    path(
        "backtests/<int:pk>/report/",
        strategy_views.BacktestReportView.as_view(),
        name="backtest-report",
    ),
    path("", include(router.urls)),
]
