import json

import pytest

from algo_trading import Param, ParameterError, Strategy, registry


class Demo(Strategy):
    name = "demo_params"
    fast = Param(int, 10, min=1, max=500, help="fast length")
    ratio = Param(float, 0.5, min=0.0, max=1.0)
    kind = Param(str, "sma", choices=("sma", "ema"))
    short = Param(bool, False)


def test_defaults_and_values():
    s = Demo(fast=20)
    assert s.params == {"fast": 20, "ratio": 0.5, "kind": "sma", "short": False}


def test_out_of_bounds_message_names_parameter():
    with pytest.raises(ParameterError) as err:
        Demo(fast=0)
    assert str(err.value) == "fast must be an int between 1 and 500, got 0"


def test_unknown_parameter_is_named():
    with pytest.raises(ParameterError, match=r"^fsat is not a parameter of demo_params"):
        Demo(fsat=3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fast": 2.5}, "fast must be an int between 1 and 500, got 2.5"),
        ({"fast": True}, "fast must be an int between 1 and 500, got True"),
        ({"fast": "ten"}, "fast must be an int between 1 and 500, got 'ten'"),
        ({"ratio": 2}, "ratio must be a float between 0.0 and 1.0, got 2"),
        ({"ratio": float("nan")}, "ratio must be a float between 0.0 and 1.0, got nan"),
        ({"kind": "wma"}, "kind must be one of 'sma', 'ema', got 'wma'"),
        ({"short": "maybe"}, "short must be a bool, got 'maybe'"),
    ],
)
def test_bad_values(kwargs, message):
    with pytest.raises(ParameterError) as err:
        Demo(**kwargs)
    assert str(err.value) == message


def test_strings_from_query_strings_are_coerced():
    s = Demo(fast="12", ratio="0.25", short="true")
    assert (s.fast, s.ratio, s.short) == (12, 0.25, True)
    assert Demo(fast=12.0).fast == 12


def test_assignment_is_validated_too():
    s = Demo()
    with pytest.raises(ParameterError):
        s.fast = 501


def test_specs_are_json_serialisable():
    specs = Demo.param_specs()
    assert [p["name"] for p in specs] == ["fast", "ratio", "kind", "short"]
    assert specs[0] == {
        "name": "fast",
        "type": "int",
        "default": 10,
        "min": 1,
        "max": 500,
        "choices": None,
        "help": "fast length",
    }
    json.dumps(specs)


def test_cross_parameter_validation():
    with pytest.raises(ParameterError, match="fast must be less than slow, got fast=50 slow=20"):
        registry.create("ma_crossover", {"fast": 50, "slow": 20})


def test_bad_default_fails_at_class_creation():
    with pytest.raises(ParameterError):

        class Broken(Strategy):
            x = Param(int, 0, min=1)


def test_params_inherit_and_can_be_overridden():
    class Child(Demo):
        fast = Param(int, 5, min=1, max=10)
        extra = Param(int, 1)

    assert Child.param_names() == ["fast", "ratio", "kind", "short", "extra"]
    assert Child().fast == 5
