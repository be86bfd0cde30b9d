"""GET /api/risk/metrics/: VaR (historical and parametric, 95%, one day), drawdown, exposure,
and a volatility-based position size per instrument. Definitions in docs/risk.md."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from trading_app.models import Account, Instrument
from trading_app.risk import metrics
from trading_app.risk.history import (
    aligned_returns,
    bars_per_day,
    daily_closes,
    equity_series,
    instrument_returns,
    minute_bars,
)
from trading_app.risk.limits import load_limits
from trading_app.risk.portfolio import lines, money, price_text

ZERO = Decimal("0")
MIN_DAYS = 20  # daily equity changes needed before the account's own history is used
MIN_BARS = 10  # one-minute returns needed for the instrument-returns fallback
DRAWDOWN_DAYS = 30


def risk_budget_pct() -> Decimal:
    """Share of equity one position may put at risk (1-day 95% VaR) in the size suggestion."""
    return Decimal(str(getattr(settings, "RISK_SIZING_RISK_PCT", "1")))


def _var_block(account: Account, held, equity_now: Decimal, bars, now) -> dict:
    closes = daily_closes(account.id, now)
    pnl = metrics.differences([e for _, e in closes])
    if len(pnl) >= MIN_DAYS:
        return {
            "method": "equity_history",
            "historical": money(metrics.historical_var(pnl)),
            "parametric": money(metrics.parametric_var(pnl)),
            "observations": len(pnl),
            "period": "1 day",
        }
    if not held:
        return {
            "method": "no_positions",
            "historical": money(ZERO),
            "parametric": money(ZERO),
            "observations": 0,
            "period": None,
        }
    weights = {x.instrument_id: x.market_value for x in held}
    returns = aligned_returns({i: bars[i] for i in weights if i in bars})
    missing = sorted(x.symbol for x in held if x.instrument_id not in returns)
    scenario = metrics.portfolio_pnl(weights, returns)
    block: dict = {"instruments_without_data": missing}
    if len(scenario) < MIN_BARS:
        block.update(
            method="insufficient_data",
            historical=None,
            parametric=None,
            observations=len(scenario),
            period="1 minute",
        )
        return block
    per_day = bars_per_day()
    block.update(
        method="instrument_returns",
        historical=money(metrics.scale_to_day(metrics.historical_var(scenario), per_day)),
        parametric=money(metrics.scale_to_day(metrics.parametric_var(scenario), per_day)),
        observations=len(scenario),
        period="1 minute",
        scaled_by=f"sqrt({per_day})",
    )
    return block


def _drawdown_block(account: Account, equity_now: Decimal, now) -> dict:
    series = equity_series(account.id, since=now - timedelta(days=DRAWDOWN_DAYS))
    series.append((now, equity_now))
    dd = metrics.max_drawdown(series)
    return {
        "amount": money(dd.amount),
        "pct": format(dd.pct.quantize(Decimal("0.01")), "f"),
        "peak": money(dd.peak),
        "trough": money(dd.trough),
        "peak_at": dd.peak_at.isoformat() if dd.peak_at else None,
        "trough_at": dd.trough_at.isoformat() if dd.trough_at else None,
        "observations": len(series),
    }


def _sizing(account: Account, held, equity_now: Decimal, bars) -> list[dict]:
    limits = load_limits([account.id])[account.id]
    budget = risk_budget_pct()
    per_day = bars_per_day()
    current = {x.instrument_id: x.qty for x in held}
    out = []
    for inst in Instrument.objects.filter(active=True).order_by("symbol"):
        price = inst.mark_price
        position_limit = limits.max_position_qty
        if inst.max_position is not None:
            position_limit = min(position_limit, inst.max_position)
        returns = instrument_returns(bars.get(inst.id, []))
        row = {
            "symbol": inst.symbol,
            "price": price_text(price),
            "current_qty": current.get(inst.id, 0),
            "position_limit": position_limit,
            "daily_volatility": None,
            "suggested_max_qty": None,
            "observations": len(returns),
        }
        if len(returns) >= MIN_BARS and price:
            vol = metrics.scale_to_day(metrics.stdev(returns), per_day)
            size = metrics.suggested_size(equity_now, budget, price, vol)
            row["daily_volatility"] = format(vol.quantize(Decimal("0.000001")), "f")
            row["suggested_max_qty"] = min(size, position_limit)
        out.append(row)
    return out


def risk_metrics(account: Account) -> dict:
    now = timezone.now()
    items = lines(account)
    held = [x for x in items if x.qty]
    net = sum((x.market_value for x in held), ZERO)
    gross = sum((abs(x.market_value) for x in held), ZERO)
    equity_now = account.cash + net
    ids = set(Instrument.objects.filter(active=True).values_list("id", flat=True))
    bars = minute_bars(ids | {x.instrument_id for x in held}, now)
    return {
        "account": account.user.get_username(),
        "as_of": now.isoformat(),
        "equity": money(equity_now),
        "gross_exposure": money(gross),
        "net_exposure": money(net),
        "var_95_1d": _var_block(account, held, equity_now, bars, now),
        "max_drawdown": _drawdown_block(account, equity_now, now),
        "risk_budget_pct": format(risk_budget_pct().normalize(), "f"),
        "position_sizing": _sizing(account, held, equity_now, bars),
    }
