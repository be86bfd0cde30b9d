from django.apps import AppConfig


class TradingAppConfig(AppConfig):
    name = "trading_app"
    verbose_name = "Trading"
    default_auto_field = "django.db.models.BigAutoField"
