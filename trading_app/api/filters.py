import django_filters

from trading_app.models import Side, Trade, TradeSource


class TradeFilter(django_filters.FilterSet):
    """003's filters: ticker, start_date and end_date (YYYY-MM-DD, inclusive), plus side/source."""

    ticker = django_filters.CharFilter(field_name="ticker", lookup_expr="iexact")
    side = django_filters.ChoiceFilter(choices=Side.choices)
    source = django_filters.ChoiceFilter(choices=TradeSource.choices)
    start_date = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__gte")
    end_date = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__lte")
    order_id = django_filters.UUIDFilter(field_name="order_id")

    class Meta:
        model = Trade
        fields = ["ticker", "side", "source", "start_date", "end_date", "order_id"]
