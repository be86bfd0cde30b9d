from django.urls import path

from websocket_app import analysis_views, views

app_name = "web"

urlpatterns = [
    path("monitor/", views.monitor, name="monitor"),
    path("monitor/stats/", views.stats, name="monitor-stats"),
    path("analysis/", analysis_views.analysis_page, name="analysis"),
    path("analysis/data/", analysis_views.analysis_data, name="analysis-data"),
    path("login/", views.MonitorLoginView.as_view(), name="login"),
    path("logout/", views.MonitorLogoutView.as_view(), name="logout"),
]
