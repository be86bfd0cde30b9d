"""Pure pieces: the token bucket, the exposure arithmetic, limits resolution and validation."""

from decimal import Decimal

import pytest

from trading_app.risk.exposure import cash_required, gross_term
from trading_app.risk.limits import LimitsValidationError, resolve, validate_overrides
from trading_app.risk.token_bucket import TokenBucket

D = Decimal


def test_token_bucket_bursts_one_second_then_refills_at_the_rate():
    bucket = TokenBucket(2, 0.0)
    assert [bucket.take(10.0) for _ in range(3)] == [True, True, False]
    assert bucket.take(10.4) is False  # 0.8 of a token
    assert bucket.take(10.5) is True  # 1.0
    assert bucket.take(9.0) is False  # time running backwards earns nothing


def test_gross_term_is_the_worse_side_valued_at_the_mark():
    assert gross_term(pos=50, open_buy=30, open_sell=200, mark=D(10)) == D(1500)  # short 150
    assert gross_term(pos=50, open_buy=30, open_sell=20, mark=D(10)) == D(800)  # long 80


def test_cash_required_for_buys_shorts_and_covers():
    # open buys hold their notional
    assert cash_required(0, 10, D(1900), 0, D(190), D("0.25")) == D(1900)
    # open short sale holds margin on the shares that may go short
    assert cash_required(0, 0, D(0), 100, D(190), D("0.25")) == D(4750)
    # selling a long position holds nothing
    assert cash_required(100, 0, D(0), 100, D(190), D("0.25")) == D(0)
    # an existing short holds its liability and margin; a covering buy adds nothing
    short = cash_required(-10, 0, D(0), 0, D(190), D("0.25"))
    assert short == D(1900) + D(475)
    assert cash_required(-10, 10, D(1900), 0, D(190), D("0.25")) == short


def test_resolve_uses_overrides_over_defaults(settings):
    limits = resolve({"max_order_qty": 5, "max_daily_loss": None})
    assert limits.max_order_qty == 5
    assert limits.max_daily_loss == settings.RISK_DEFAULTS["max_daily_loss"]


def test_validation_names_every_bad_field():
    with pytest.raises(LimitsValidationError) as exc:
        validate_overrides({"max_order_qty": -1, "price_collar_pct": "x", "bogus": 1})
    assert set(exc.value.errors) == {"max_order_qty", "price_collar_pct", "bogus"}
    assert validate_overrides({"max_order_qty": "7", "max_daily_loss": None}) == {
        "max_order_qty": 7,
        "max_daily_loss": None,
    }
