"""The Django admin, set up for inspecting trades: staff only, exchange fills read-only."""

import csv

from django import forms
from django.contrib import admin
from django.http import HttpResponse

from trading_app.models import (
    Account,
    BacktestRun,
    ExchangeStatus,
    Instrument,
    Order,
    Position,
    RiskLimits,
    StrategyRun,
    Trade,
    TradeAnalysis,
    TradeSource,
)
from trading_app.services.trades import (
    create_manual_trade,
    delete_manual_trade,
    update_manual_trade,
)

TRADE_CSV_COLUMNS = [
    "id",
    "timestamp",
    "ticker",
    "side",
    "price",
    "quantity",
    "account",
    "order_id",
    "source",
    "execution_id",
    "liquidity",
]


@admin.action(description="Export selected trades to CSV")
def export_trades_csv(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="trades.csv"'
    writer = csv.writer(response)
    writer.writerow(TRADE_CSV_COLUMNS)
    rows = queryset.select_related("account__user").order_by("timestamp", "id")
    for t in rows.iterator(chunk_size=2000):
        writer.writerow(
            [
                t.id,
                t.timestamp.isoformat(),
                t.ticker,
                t.side,
                t.price,
                t.quantity,
                t.account.user.username,
                t.order_id or "",
                t.source,
                t.execution_id or "",
                t.liquidity,
            ]
        )
    return response


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "timestamp",
        "ticker",
        "side",
        "price",
        "quantity",
        "account",
        "source",
        "order_id",
        "execution_id",
    ]
    list_filter = ["ticker", "side", "source", "timestamp"]
    search_fields = ["ticker", "order__id", "order__client_order_id", "account__user__username"]
    date_hierarchy = "timestamp"
    list_select_related = ["account__user"]
    raw_id_fields = ["order", "account"]
    actions = [export_trades_csv]
    list_per_page = 100

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.source == TradeSource.EXCHANGE:
            return [f.name for f in Trade._meta.fields]
        # The ticker follows the instrument; moving a trade to another account is a delete
        # and a new entry, so that both accounts' cash and positions stay right.
        readonly = ["ticker", "order", "source", "execution_id", "liquidity"]
        return readonly if obj is None else ["account", *readonly]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.source == TradeSource.EXCHANGE:
            return False
        return super().has_delete_permission(request, obj)

    # Manual trades go through the same services as the API, so that the account's cash and
    # position follow an edit made here.
    def save_model(self, request, obj, form, change):
        if obj.source == TradeSource.EXCHANGE:
            return
        if change:
            stored = Trade.objects.get(pk=obj.pk)
            update_manual_trade(stored, **{f: form.cleaned_data[f] for f in form.changed_data})
            return
        created = create_manual_trade(
            obj.account, obj.instrument, obj.side, obj.price, obj.quantity, obj.timestamp
        )
        obj.pk, obj.ticker, obj.source = created.pk, created.ticker, created.source

    def delete_model(self, request, obj):
        delete_manual_trade(obj)

    def delete_queryset(self, request, queryset):
        for trade in queryset.filter(source=TradeSource.MANUAL).select_related("account"):
            delete_manual_trade(trade)


class TradeInline(admin.TabularInline):
    model = Trade
    fields = ["timestamp", "side", "price", "quantity", "execution_id", "liquidity"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "account",
        "instrument",
        "side",
        "type",
        "time_in_force",
        "qty",
        "limit_price",
        "status",
        "filled_qty",
        "filled_avg_price",
        "seq",
    ]
    list_filter = ["status", "side", "type", "time_in_force", "instrument", "origin", "created_at"]
    search_fields = ["id", "client_order_id", "account__user__username", "instrument__symbol"]
    date_hierarchy = "created_at"
    list_select_related = ["account__user", "instrument"]
    inlines = [TradeInline]

    def get_readonly_fields(self, request, obj=None):
        # Order state belongs to the matching worker; the admin only looks.
        return [f.name for f in Order._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ["account", "instrument", "qty", "avg_cost", "realized_pnl", "updated_at"]
    list_filter = ["instrument"]
    search_fields = ["account__user__username", "instrument__symbol"]
    readonly_fields = ["account", "instrument", "qty", "avg_cost", "realized_pnl", "updated_at"]


class AccountForm(forms.ModelForm):
    cash_adjustment = forms.DecimalField(
        required=False,
        max_digits=20,
        decimal_places=2,
        help_text="Added to the cash as it is when you save (negative to take cash away). The "
        "balance itself is not editable: the matching worker moves it with every fill, and a "
        "balance written back from this page would undo the fills since it was opened.",
    )

    class Meta:
        model = Account
        fields = ["user", "halted", "halted_reason"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountForm
    list_display = ["user", "cash", "halted", "halted_reason", "created_at"]
    list_filter = ["halted"]
    search_fields = ["user__username"]
    actions = ["halt_accounts", "resume_accounts"]
    readonly_fields = ["cash"]

    def save_model(self, request, obj, form, change):
        from trading_app.services.accounts import adjust_cash

        if change:
            # Only what the form changed: a full save would write back the cash it loaded.
            fields = [f for f in form.changed_data if f in AccountForm.Meta.fields]
            if fields:
                obj.save(update_fields=fields)  # halts reach the risk gate by a trigger
        else:
            super().save_model(request, obj, form, change)
        amount = form.cleaned_data.get("cash_adjustment")
        if amount:
            obj.cash = adjust_cash(obj.pk, amount)

    @admin.action(description="Halt trading for the selected accounts (cancels their open orders)")
    def halt_accounts(self, request, queryset):
        from trading_app.risk import halts

        who = request.user.get_username()
        for account_id in queryset.values_list("id", flat=True):
            halts.halt_account(account_id, f"{halts.DEFAULT_ACCOUNT_REASON} (by {who}, admin)")
        self.message_user(
            request, f"halted {queryset.count()} account(s); their orders are canceled"
        )

    @admin.action(description="Resume trading for the selected accounts")
    def resume_accounts(self, request, queryset):
        from trading_app.risk import halts

        for account_id in queryset.values_list("id", flat=True):
            halts.resume_account(account_id)
        self.message_user(request, f"resumed {queryset.count()} account(s)")


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = [
        "symbol",
        "name",
        "tick_size",
        "lot_size",
        "active",
        "reference_price",
        "last_price",
        "max_position",
        "margin_requirement",
    ]
    list_filter = ["active"]
    search_fields = ["symbol", "name"]


@admin.register(TradeAnalysis)
class TradeAnalysisAdmin(admin.ModelAdmin):
    list_display = ["date", "bucket", "status_code", "message", "invoked_via", "updated_at"]
    date_hierarchy = "date"
    readonly_fields = ["created_at", "updated_at"]


@admin.register(BacktestRun)
class BacktestRunAdmin(admin.ModelAdmin):
    """Stored backtests (CLI and API): headline metrics in the list, chart and report linked."""

    PREVIEW = ("total_return_pct", "sharpe", "max_drawdown_pct", "num_trades")

    list_display = [
        "id",
        "strategy",
        "symbol",
        "status",
        "total_return",
        "sharpe",
        "max_drawdown",
        "trades_count",
        "files",
        "created_by",
        "created_at",
    ]
    list_filter = ["strategy", "status", "symbol"]
    search_fields = ["strategy", "symbol", "created_by__username"]
    date_hierarchy = "created_at"
    list_select_related = ["created_by"]
    readonly_fields = [
        "strategy",
        "symbol",
        "params",
        "config",
        "start",
        "end",
        "status",
        "error",
        "metrics_table",
        "files",
        "chart_preview",
        "trades",
        "created_by",
        "created_at",
        "finished_at",
    ]
    exclude = ["metrics", "chart", "report"]

    def has_add_permission(self, request):
        return False  # backtests are run by `manage.py backtest` or POST /api/backtests/

    def _metric(self, obj, key):
        value = (obj.metrics or {}).get(key)
        return "n/a" if value is None else value

    @admin.display(description="return %")
    def total_return(self, obj):
        return self._metric(obj, "total_return_pct")

    @admin.display(description="sharpe")
    def sharpe(self, obj):
        return self._metric(obj, "sharpe")

    @admin.display(description="max DD %")
    def max_drawdown(self, obj):
        return self._metric(obj, "max_drawdown_pct")

    @admin.display(description="trades")
    def trades_count(self, obj):
        return len(obj.trades or [])

    @admin.display(description="chart / report")
    def files(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        if not obj.chart and not obj.report:
            return "-"
        return format_html(
            '<a href="{}" target="_blank">chart</a> · <a href="{}" target="_blank">report</a>',
            reverse("backtest-chart", args=[obj.pk]),
            reverse("backtest-report", args=[obj.pk]),
        )

    @admin.display(description="metrics")
    def metrics_table(self, obj):
        from django.utils.html import format_html, format_html_join

        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((k, v) for k, v in (obj.metrics or {}).items())
        )
        return format_html("<table>{}</table>", rows)

    @admin.display(description="chart")
    def chart_preview(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        if not obj.chart:
            return "-"
        return format_html(
            '<img src="{}" style="max-width: 900px" alt="chart">',
            reverse("backtest-chart", args=[obj.pk]),
        )


@admin.register(RiskLimits)
class RiskLimitsAdmin(admin.ModelAdmin):
    """Per-account overrides; an empty field means settings.RISK_DEFAULTS applies."""

    list_display = [
        "account",
        "max_order_qty",
        "max_order_notional",
        "max_position_qty",
        "max_gross_exposure",
        "price_collar_pct",
        "max_orders_per_second",
        "max_volume_pct",
        "max_daily_loss",
        "updated_at",
    ]
    search_fields = ["account__user__username"]
    raw_id_fields = ["account"]

    def get_form(self, request, obj=None, **kwargs):
        from django import forms

        from trading_app.risk.limits import (
            LIMIT_FIELDS,
            LimitsValidationError,
            defaults,
            validate_overrides,
        )

        base = super().get_form(request, obj, **kwargs)
        default_values = defaults()

        class RiskLimitsForm(base):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                for name in LIMIT_FIELDS:
                    if name in self.fields:
                        self.fields[name].help_text = f"empty: default {default_values[name]}"

            def clean(self):
                data = super().clean()
                values = {k: data.get(k) for k in LIMIT_FIELDS if data.get(k) is not None}
                if values:
                    try:
                        validate_overrides(values)
                    except LimitsValidationError as exc:
                        raise forms.ValidationError(
                            {k: v for k, v in exc.errors.items() if k in self.fields}
                        ) from None
                return data

        return RiskLimitsForm


@admin.register(ExchangeStatus)
class ExchangeStatusAdmin(admin.ModelAdmin):
    """The exchange kill switch: halting cancels every open order; resuming reopens trading."""

    list_display = ["id", "halted", "reason", "updated_at"]
    actions = ["halt_exchange", "resume_exchange"]

    def save_model(self, request, obj, form, change):
        from trading_app.risk import halts

        if obj.halted:
            halts.halt_exchange(obj.reason or f"{halts.DEFAULT_EXCHANGE_REASON} (by admin)")
        else:
            halts.resume_exchange()
        obj.refresh_from_db()

    @admin.action(description="Halt the exchange (cancels every open order)")
    def halt_exchange(self, request, queryset):
        from trading_app.risk import halts

        halts.halt_exchange(f"{halts.DEFAULT_EXCHANGE_REASON} (by {request.user.get_username()})")
        self.message_user(request, "the exchange is halted; every open order is being canceled")

    @admin.action(description="Resume trading on the exchange")
    def resume_exchange(self, request, queryset):
        from trading_app.risk import halts

        halts.resume_exchange()
        self.message_user(request, "the exchange is open again")


@admin.register(StrategyRun)
class StrategyRunAdmin(admin.ModelAdmin):
    """Live strategy runs: their status, counters and P&L; their orders are ordinary orders."""

    list_display = [
        "id",
        "strategy",
        "symbol",
        "account",
        "status",
        "origin",
        "position",
        "realized_pnl",
        "unrealized_pnl",
        "fills",
        "orders_link",
        "started_at",
        "stopped_at",
    ]
    list_filter = ["status", "strategy", "symbol", "origin"]
    search_fields = ["strategy", "symbol", "account__user__username"]
    list_select_related = ["account__user"]
    actions = ["stop_runs"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in StrategyRun._meta.fields] + ["orders_link"]

    def has_add_permission(self, request):
        return False  # started by `manage.py run_strategy` or POST /api/strategies/runs/

    @admin.display(description="orders")
    def orders_link(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        url = reverse("admin:trading_app_order_changelist")
        return format_html('<a href="{}?q={}">orders</a>', url, obj.client_order_prefix)

    @admin.action(description="Stop the selected runs")
    def stop_runs(self, request, queryset):
        from algo_trading.django_adapters.runs import request_stop

        active = [run for run in queryset if run.is_active]
        for run in active:
            request_stop(run)
        self.message_user(request, f"asked {len(active)} run(s) to stop")
