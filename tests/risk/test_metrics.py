"""VaR, drawdown and position sizing against hand-computed cases (pure functions and the API)."""

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from trading_app.models import EquitySnapshot, Instrument, Trade
from trading_app.risk import metrics
from trading_app.services.trades import create_manual_trade

D = Decimal
SQRT_390 = D(390).sqrt()


def test_percentile_interpolates_between_order_statistics():
    values = [D(v) for v in range(1, 21)]  # 1..20
    # position 0.05 * 19 = 0.95: 1 + 0.95 * (2 - 1)
    assert metrics.percentile(values, D("0.05")) == D("1.95")


def test_historical_var_is_minus_the_fifth_percentile():
    pnl = [D(v) for v in (-300, -200, -100, -50, 0, 10, 20, 30, 40, 50)] + [
        D(60 + 10 * k) for k in range(10)
    ]
    # 20 values, position 0.95 between -300 and -200: -300 + 0.95 * 100 = -205
    assert metrics.historical_var(pnl) == D("205")


def test_parametric_var_is_z_sigma():
    pnl = [D(100), D(-100)] * 10
    # sample variance: 20 * 100^2 / 19; VaR = 1.6449 * sqrt(200000 / 19) = 168.7632...
    expected = D("1.6449") * (D(200000) / 19).sqrt()
    assert metrics.parametric_var(pnl) == expected
    assert expected.quantize(D("0.01")) == D("168.76")


def test_a_series_that_never_loses_has_no_historical_var():
    assert metrics.historical_var([D(1), D(2), D(3)]) == 0


def test_max_drawdown_finds_the_largest_fall_from_a_peak():
    t = timezone.now()
    series = [(t + timedelta(minutes=i), D(v)) for i, v in enumerate((100, 120, 90, 110, 80, 130))]
    dd = metrics.max_drawdown(series)
    assert (dd.amount, dd.peak, dd.trough) == (D(40), D(120), D(80))
    assert dd.pct.quantize(D("0.01")) == D("33.33")


def test_suggested_size_puts_the_risk_budget_at_one_day_var():
    # 1% of 1,000,000 = 10,000 at risk; per share 1.6449 * 2% * 100 = 3.2898 -> 3039 shares
    assert metrics.suggested_size(D(1_000_000), D(1), D(100), D("0.02")) == 3039


@pytest.mark.django_db
def test_metrics_from_the_accounts_equity_history(make_account, make_client, instruments):
    account, token = make_account("ann", cash="100000")
    now = timezone.now()
    equity = D(100000)
    for day in range(20, -1, -1):  # 21 daily closes: +100, -100, +100, ... (20 changes)
        EquitySnapshot.objects.create(
            account=account,
            timestamp=now - timedelta(days=day, minutes=1),
            cash=equity,
            market_value=D(0),
            gross_exposure=D(0),
            equity=equity,
        )
        equity += 100 if day % 2 == 0 else -100
    body = make_client(token).get("/api/risk/metrics/").json()
    var = body["var_95_1d"]
    assert var["method"] == "equity_history" and var["observations"] == 20
    assert var["historical"] == "100.00"  # 5th percentile of ten -100s and ten +100s
    assert var["parametric"] == "168.76"  # 1.6449 * sqrt(20 * 100^2 / 19)
    dd = body["max_drawdown"]
    assert (dd["amount"], dd["peak"], dd["trough"]) == ("100.00", "100100.00", "100000.00")
    assert dd["pct"] == "0.10"
    assert (body["gross_exposure"], body["net_exposure"], body["equity"]) == (
        "0.00",
        "0.00",
        "100000.00",
    )


@pytest.mark.django_db
def test_metrics_fall_back_to_position_weighted_instrument_returns(
    alice, bob, alice_client, instruments
):
    aapl = instruments["AAPL"]
    create_manual_trade(alice[0], aapl, "buy", D(100), 10)  # long 10 AAPL
    Instrument.objects.filter(pk=aapl.pk).update(last_price=D(100))  # worth 1000.00
    base = timezone.now().replace(second=30, microsecond=0) - timedelta(minutes=13)
    price = D(100)
    returns = [D("0.1") if k % 2 == 0 else D("-0.1") for k in range(11)]  # +10%, -10%, ...
    prices = [price]
    for r in returns:
        prices.append(prices[-1] * (1 + r))
    for k, p in enumerate(prices):  # one exchange trade per minute (the taker's row counts)
        Trade.objects.create(
            account=bob[0],
            instrument=aapl,
            ticker="AAPL",
            side="buy",
            price=p,
            quantity=1,
            timestamp=base + timedelta(minutes=k),
            source="exchange",
            liquidity="taker",
            execution_id=1000 + k,
        )
    body = alice_client.get("/api/risk/metrics/").json()
    var = body["var_95_1d"]
    assert var["method"] == "instrument_returns" and var["observations"] == 11

    # scenario P&L per minute: 1000 x r = six +100s and five -100s
    pnl = [1000 * r for r in returns]
    # historical: position 0.05 * 10 = 0.5 between two -100s -> 100 a minute, x sqrt(390)
    assert var["historical"] == f"{(D(100) * SQRT_390).quantize(D('0.01'))}"
    mean = sum(pnl) / 11
    sigma = (sum((x - mean) ** 2 for x in pnl) / 10).sqrt()
    assert var["parametric"] == f"{(D('1.6449') * sigma * SQRT_390).quantize(D('0.01'))}"

    sizing = {row["symbol"]: row for row in body["position_sizing"]}
    vol = (sum((r - sum(returns) / 11) ** 2 for r in returns) / 10).sqrt() * SQRT_390
    assert sizing["AAPL"]["daily_volatility"] == f"{vol.quantize(D('0.000001'))}"
    equity = D(1_000_000)  # cash 999,000 + 10 x 100
    expected = math.floor(equity * D("0.01") / (D("1.6449") * vol * 100))
    assert sizing["AAPL"]["suggested_max_qty"] == expected
    assert sizing["AAPL"]["current_qty"] == 10
    assert sizing["MSFT"]["suggested_max_qty"] is None  # no trades: no volatility to size on


@pytest.mark.django_db
def test_metrics_without_positions_or_history(alice_client):
    body = alice_client.get("/api/risk/metrics/").json()
    assert body["var_95_1d"]["method"] == "no_positions"
    assert body["var_95_1d"]["historical"] == "0.00"
    assert body["max_drawdown"]["amount"] == "0.00"
