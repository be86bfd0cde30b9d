"""/api/strategies/ and /api/backtests/: run, list, retrieve, files, isolation, 400s."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algo_trading import registry
from algo_trading.data import SAMPLE_CSV
from trading_app.models import BacktestRun

pytestmark = pytest.mark.django_db

SMALL_CSV = "\n".join(SAMPLE_CSV.read_text().splitlines()[:120])


def test_strategies_lists_the_registry_with_parameters(alice_client):
    response = alice_client.get("/api/strategies/")
    assert response.status_code == 200
    body = response.json()
    assert body == registry.list()
    names = {s["name"] for s in body}
    assert {"ma_crossover", "mean_reversion", "momentum_breakout", "ml_classifier"} <= names
    ma = next(s for s in body if s["name"] == "ma_crossover")
    fast = next(p for p in ma["params"] if p["name"] == "fast")
    assert fast["type"] == "int" and fast["default"] >= 1 and fast["min"] == 1


def test_strategies_needs_authentication(make_client):
    assert make_client().get("/api/strategies/").status_code in (401, 403)


def test_create_list_retrieve_and_files(alice_client, bob_client, media):
    body = {
        "strategy": "ma_crossover",
        "symbol": "aapl",
        "params": {"fast": 10, "slow": 30},
        "start": "2023-01-01",
        "end": "2024-12-31",
        "cash": "50000",
        "commission": 0.1,
        "data": "sample",
    }
    created = alice_client.post("/api/backtests/", body, format="json")
    assert created.status_code == 201, created.content
    payload = created.json()
    assert payload["symbol"] == "AAPL" and payload["status"] == "done"
    assert payload["params"] == {"fast": 10, "slow": 30, "kind": "sma", "allow_short": False}
    assert payload["metrics"]["num_trades"] == payload["num_trades"] > 0
    assert payload["config"]["commission"] == {"model": "percent", "rate_pct": 0.1}
    run_id = payload["id"]

    listed = alice_client.get("/api/backtests/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == run_id
    assert "trades" not in listed["results"][0]

    detail = alice_client.get(f"/api/backtests/{run_id}/").json()
    assert detail["metrics"] == payload["metrics"]
    assert len(detail["trades"]) == payload["num_trades"]
    assert {"entry_time", "exit_time", "entry_price", "exit_price", "size", "pnl"} <= set(
        detail["trades"][0]
    )
    assert detail["chart_url"].endswith(f"/api/backtests/{run_id}/chart/")
    chart = alice_client.get(detail["chart_url"])
    assert chart.status_code == 200 and chart["Content-Type"] == "image/png"
    assert b"".join(chart.streaming_content).startswith(b"\x89PNG")
    report = alice_client.get(detail["report_url"])
    assert report.status_code == 200 and report["Content-Type"].startswith("text/html")
    assert b"Backtest: ma_crossover AAPL" in b"".join(report.streaming_content)

    # isolation: bob sees none of it
    assert bob_client.get("/api/backtests/").json()["count"] == 0
    for url in (f"/api/backtests/{run_id}/", detail["chart_url"], detail["report_url"]):
        assert bob_client.get(url).status_code == 404


def test_csv_text_is_accepted_and_staff_may_open_files(
    alice_client, make_account, make_client, media
):
    created = alice_client.post(
        "/api/backtests/",
        {"strategy": "mean_reversion", "symbol": "XYZ", "data": SMALL_CSV, "engine": "event"},
        format="json",
    )
    assert created.status_code == 201, created.content
    run = BacktestRun.objects.get(pk=created.json()["id"])
    assert run.config["data"] == "upload" and run.config["bars"] == 119
    _, token = make_account("ops", staff=True)
    staff = make_client(token)
    assert staff.get(f"/api/backtests/{run.pk}/chart/").status_code == 200
    assert staff.get(f"/api/backtests/{run.pk}/").status_code == 404  # the API is per user


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"strategy": "nope", "data": "sample"}, "strategy", "unknown strategy 'nope'"),
        ({"data": "sample"}, "strategy", "required"),
        ({"strategy": "ma_crossover", "params": {"fast": 0}, "data": "sample"}, "params", "fast must be"),
        ({"strategy": "ma_crossover", "params": {"fsat": 3}, "data": "sample"}, "params", "fsat"),
        ({"strategy": "ma_crossover", "params": [1], "data": "sample"}, "params", "object"),
        ({"strategy": "ma_crossover", "data": "Date,Open\n2024-01-02,1\n"}, "data", "missing column"),
        ({"strategy": "ma_crossover", "data": "sample", "start": "2024-06-01", "end": "2024-01-01"}, "end", "before start"),
        ({"strategy": "ma_crossover", "data": "sample", "start": "2030-01-01"}, "start", "only 0 bar"),
        ({"strategy": "ma_crossover", "data": "sample", "start": "not a date"}, "start", "Date has wrong format"),
        ({"strategy": "ma_crossover", "data": "sample", "cash": "-5"}, "cash", ""),
        ({"strategy": "ma_crossover", "data": "sample", "commission": {"model": "bribe"}}, "commission", "model"),
        ({"strategy": "ma_crossover", "data": "sample", "commission": [1]}, "commission", "percent"),
        ({"strategy": "ma_crossover", "data": "sample", "sizing": {"model": "kelly"}}, "sizing", "sizing model"),
        ({"strategy": "ma_crossover", "data": "sample", "slippage": 5}, "slippage", "object"),
        ({"strategy": "ma_crossover", "data": "sample", "engine": "warp"}, "engine", "valid choice"),
        ({"strategy": "ma_crossover", "data": "sample", "symbol": "A A"}, "symbol", "ticker"),
        ({"strategy": "ml_classifier", "data": "sample", "engine": "vectorised"}, "non_field_errors", "no vectorised form"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(alice_client, media, body, field, text):
    response = alice_client.post("/api/backtests/", body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert text in " ".join(errors[field])
    assert not BacktestRun.objects.exists()


def test_offline_without_data_names_the_data_field(alice_client, media, offline):
    response = alice_client.post(
        "/api/backtests/",
        {"strategy": "ma_crossover", "symbol": "AAPL", "start": "2020-01-01", "end": "2024-12-31"},
        format="json",
    )
    assert response.status_code == 400
    (message,) = response.json()["data"]
    assert "could not download daily bars for AAPL" in message and '"sample"' in message
    no_dates = alice_client.post("/api/backtests/", {"strategy": "ma_crossover"}, format="json")
    assert no_dates.status_code == 400 and "start and end" in no_dates.json()["data"][0]


def test_bar_count_is_capped(alice_client, media, settings):
    settings.BACKTEST_API_MAX_BARS = 100
    response = alice_client.post(
        "/api/backtests/", {"strategy": "ma_crossover", "data": "sample"}, format="json"
    )
    assert response.status_code == 400
    assert "504 bars; a request may backtest at most 100" in response.json()["data"][0]


def test_nan_in_params_is_refused_by_name(alice_client, media):
    response = alice_client.generic(
        "POST",
        "/api/backtests/",
        '{"strategy": "mean_reversion", "params": {"entry_z": NaN}, "data": "sample"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["params"] == ["entry_z: must be a finite number"]


# ------------------------------------------------------------------ bounds (new-user trial)


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"commission": {"model": "percent", "rate_pct": 1e308}}, "commission", "rate_pct must be a number >= 0 and < 100"),
        ({"commission": {"model": "percent", "rate_pct": 100}}, "commission", "rate_pct must be a number >= 0 and < 100"),
        ({"commission": 1e308}, "commission", "rate_pct must be a number >= 0 and < 100"),
        ({"commission": {"model": "per_share", "rate": -1}}, "commission", "rate must be a number >= 0"),
        ({"commission": {"model": "per_share", "minimum": 1e300}}, "commission", "minimum must be a number >= 0 and <= 1e+09"),
        ({"slippage": {"model": "bps", "bps": 1e308}}, "slippage", "bps must be a number >= 0 and < 10000"),
        ({"slippage": {"model": "range", "fraction": 2}}, "slippage", "fraction must be a number >= 0 and <= 1"),
        ({"sizing": {"model": "fixed", "qty": 5}}, "sizing", "sizing 'fixed': unknown parameter(s) qty; accepted: quantity"),
        ({"sizing": {"model": "volatility", "max_leverage": 1e300}}, "sizing", "max_leverage must be a number > 0 and <= 10"),
        ({"sizing": {"model": ["fixed"]}}, "sizing", "sizing model must be one of fixed, fraction, volatility"),
        ({"cash": "1e400"}, "cash", "must be an amount from 1 to 1000000000000"),
        ({"cash": "1000000000000.01"}, "cash", "must be an amount from 1 to 1000000000000"),
        ({"foo": 1}, "non_field_errors", "unknown field(s): foo"),
        ({"foo": 1, "Strategy": "x", "engine": "warp"}, "non_field_errors", "unknown field(s): Strategy, foo"),
    ],
)  # fmt: skip
def test_extreme_costs_and_unknown_fields_are_400s_naming_the_field(
    alice_client, media, body, field, text
):
    body = {"strategy": "ma_crossover", "data": "sample", **body}
    response = alice_client.post("/api/backtests/", body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert text in " ".join(errors[field]), errors
    assert "__init__" not in response.content.decode()
    assert not BacktestRun.objects.exists()


def test_unknown_fields_are_listed_with_the_other_errors(alice_client, media):
    response = alice_client.post(
        "/api/backtests/", {"strategy": "ma_crossover", "engine": "warp", "foo": 1}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert "valid choice" in errors["engine"][0]
    assert errors["non_field_errors"] == ["unknown field(s): foo"]


def test_huge_prices_in_csv_are_a_400_naming_data(alice_client, media):
    lines = SMALL_CSV.splitlines()
    date = lines[5].split(",")[0]
    lines[5] = f"{date},1.7e308,1.7e308,1.7e308,1.7e308,1000"
    response = alice_client.post(
        "/api/backtests/",
        {"strategy": "ma_crossover", "data": "\n".join(lines)},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "data": ["line 6: Open 1.7e+308 is out of range (prices must be between 1e-08 and 1e+09)"]
    }


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1e999999", "quantity: must be a finite number (at most 1.7e308), got 1E+999999"),
        ("-1e999999", "quantity: must be a finite number (at most 1.7e308), got -1E+999999"),
        ("1e400", "quantity: must be a finite number (at most 1.7e308), got 1E+400"),
        ("1E+20", "sizing 'fixed': quantity must be a whole number of shares from 1 to"),
        ("12345678901234567890123", "sizing 'fixed': quantity must be a whole number"),
    ],
)
def test_json_numbers_beyond_any_sane_value_are_refused_quickly(
    alice_client, media, number, message
):
    # int(Decimal("1e999999")) alone takes a minute of CPU: such a number never becomes an int
    response = alice_client.generic(
        "POST",
        "/api/backtests/",
        '{"strategy": "ma_crossover", "data": "sample", "sizing": {"model": "fixed", '
        f'"quantity": {number}}}}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    (error,) = response.json()["sizing"]
    assert error.startswith(message), error


def test_a_ruinous_commission_is_stored_with_an_honest_sharpe(alice_client, media):
    response = alice_client.post(
        "/api/backtests/",
        {
            "strategy": "ma_crossover",
            "data": "sample",
            "commission": {"model": "percent", "rate_pct": 99.99},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    metrics = response.json()["metrics"]
    assert metrics["total_return_pct"] < -100
    assert metrics["sharpe"] < 0 and metrics["sortino"] < 0


EXTREME_NUMBERS = st.one_of(
    st.sampled_from(
        ["1e308", "-1e308", "1.7976931348623157e308", "1e400", "1e-400", "5e-324", "NaN",
         "Infinity", "-Infinity", "0", "-0", "99.99999999", "100", "9999.999", "10000",
         "1e9", "1000000000.01", "999999999999999", "1e15", "12345678901234567890"]
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)  # fmt: skip
TARGETS = [
    ('"commission": {}', "commission"),
    ('"commission": {{"model": "percent", "rate_pct": {}}}', "commission"),
    ('"commission": {{"model": "percent", "rate_pct": 0.1, "minimum": {}}}', "commission"),
    ('"commission": {{"model": "per_share", "rate": {}}}', "commission"),
    ('"slippage": {{"model": "bps", "bps": {}}}', "slippage"),
    ('"slippage": {{"model": "range", "fraction": {}}}', "slippage"),
    ('"sizing": {{"model": "fixed", "quantity": {}}}', "sizing"),
    ('"sizing": {{"model": "fraction", "fraction": {}}}', "sizing"),
    ('"sizing": {{"model": "volatility", "max_leverage": {}}}', "sizing"),
    ('"cash": {}', "cash"),
    ('"cash": "{}"', "cash"),
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(target=st.sampled_from(TARGETS), number=EXTREME_NUMBERS)
def test_no_extreme_number_gives_a_500(alice_client, media, target, number):
    template, field = target
    body = (
        '{"strategy": "ma_crossover", "params": {"fast": 3, "slow": 8}, '
        f'"data": {json.dumps(SMALL_CSV)}, {template.format(number)}}}'
    )
    response = alice_client.generic(
        "POST", "/api/backtests/", body, content_type="application/json"
    )
    assert response.status_code in (201, 400), response.content
    payload = json.loads(response.content, parse_constant=lambda c: pytest.fail(c))
    if response.status_code == 400:
        assert list(payload) == [field], payload
    else:
        run = BacktestRun.objects.get(pk=payload["id"])
        json.dumps([run.metrics, run.trades, run.config], allow_nan=False)


def test_a_live_run_with_an_unknown_field_is_a_400_naming_it(alice_client):
    response = alice_client.post(
        "/api/strategies/runs/",
        {"strategy": "ma_crossover", "symbol": "AAPL", "qty": 5, "fast_period": 2},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["non_field_errors"] == ["unknown field(s): fast_period"]
