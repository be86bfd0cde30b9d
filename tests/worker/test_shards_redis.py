"""Two workers, `--shard 0/2` and `--shard 1/2`, over a real Redis channel layer."""

import pytest
from django.conf import settings as django_settings
from django.db import connection

from matching.sharding import shard_of
from tests.worker.processes import start_worker, stop, wait_until
from trading_app.models import Order
from trading_app.services.orders import submit_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]


def test_two_shards_split_the_instruments_and_both_match(
    instruments, alice, bob, tmp_path, settings
):
    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis")
    settings.MATCHING_SHARDS = 2
    symbols = list(instruments)
    assert {shard_of(s, 2) for s in symbols} == {0, 1}, "the demo symbols should span both shards"
    log = tmp_path / "workers.log"
    env_shards = {"MATCHING_SHARDS": "2"}
    import os

    os.environ.update(env_shards)
    try:
        workers = [start_worker("--shard", f"{i}/2", log_path=log) for i in range(2)]
        for symbol in symbols:
            price = instruments[symbol].reference_price
            submit_order(
                alice[0],
                {
                    "symbol": symbol,
                    "side": "sell",
                    "type": "limit",
                    "qty": 5,
                    "limit_price": str(price),
                    "time_in_force": "gtc",
                },
            )
            submit_order(
                bob[0],
                {
                    "symbol": symbol,
                    "side": "buy",
                    "type": "limit",
                    "qty": 5,
                    "limit_price": str(price),
                    "time_in_force": "gtc",
                },
            )
        done = wait_until(
            lambda: Order.objects.filter(status="filled").count() == 2 * len(symbols), timeout=60
        )
        for w in workers:
            assert stop(w) == 0, log.read_text()
        assert done, log.read_text()
    finally:
        for key in env_shards:
            os.environ.pop(key, None)
    for order in Order.objects.select_related("instrument"):
        assert order.seq % 2 == shard_of(order.instrument.symbol, 2), order.instrument.symbol
