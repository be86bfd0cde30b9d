import json

import pytest

from algo_trading import Strategy, registry
from algo_trading.registry import UnknownStrategyError

BUILTINS = {"ma_crossover", "mean_reversion", "momentum_breakout", "ml_classifier"}


def test_builtins_are_listed_with_specs():
    listed = registry.list()
    json.dumps(listed)
    by_name = {s["name"]: s for s in listed}
    assert set(by_name) >= BUILTINS
    for entry in listed:
        assert set(entry) == {"name", "description", "vectorisable", "params"}
        assert entry["description"]
    ma = {p["name"]: p for p in by_name["ma_crossover"]["params"]}
    assert set(ma) >= {"fast", "slow", "kind", "allow_short"}
    assert ma["kind"]["choices"] == ["sma", "ema"]
    assert ma["allow_short"]["default"] is False
    mr = {p["name"]: p["default"] for p in by_name["mean_reversion"]["params"]}
    assert mr["lookback"] == 20 and mr["entry_z"] == 2.0
    assert mr["stop_loss"] == 0.02 and mr["take_profit"] == 0.01
    assert by_name["ma_crossover"]["vectorisable"] is True


def test_get_unknown_lists_available():
    with pytest.raises(UnknownStrategyError) as err:
        registry.get("nope")
    assert "unknown strategy 'nope'" in str(err.value)
    assert "ma_crossover" in str(err.value)


def test_register_custom_and_duplicate_name():
    @registry.register
    class Custom(Strategy):
        """Does nothing, for the registry test."""

        name = "custom_test_strategy"

    try:
        assert registry.get("custom_test_strategy") is Custom
        assert "custom_test_strategy" in registry.names()

        class Other(Strategy):
            name = "custom_test_strategy"

        with pytest.raises(ValueError, match="already registered"):
            registry.register(Other)
    finally:
        registry.unregister("custom_test_strategy")


def test_register_requires_a_name():
    class Nameless(Strategy):
        pass

    with pytest.raises(ValueError, match="name"):
        registry.register(Nameless)
