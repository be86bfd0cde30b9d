import django_filters
from django import forms

from trading_app.models import Side, Trade, TradeSource


class TradeFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and start > end:
            self.add_error("end_date", f"must be on or after start_date ({start})")
        return cleaned


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
        form = TradeFilterForm
