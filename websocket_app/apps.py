from django.apps import AppConfig


class WebsocketAppConfig(AppConfig):
    name = "websocket_app"
    verbose_name = "Real time"
