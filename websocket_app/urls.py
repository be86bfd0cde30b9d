from django.urls import path

from websocket_app import views

app_name = "web"

urlpatterns = [
    path("monitor/", views.monitor, name="monitor"),
    path("monitor/stats/", views.stats, name="monitor-stats"),
    path("login/", views.MonitorLoginView.as_view(), name="login"),
    path("logout/", views.MonitorLogoutView.as_view(), name="logout"),
]
