import pytest

from trading_app.matching_worker.worker import MatchingWorker


@pytest.fixture
def worker(instruments, settings):
    """A worker run synchronously in the test: process_batch([]) applies accepted orders."""
    settings.SESSION_END_UTC = ""
    w = MatchingWorker()
    w.recover()
    return w


def order_payload(**fields) -> dict:
    base = {"symbol": "AAPL", "side": "buy", "type": "limit", "time_in_force": "gtc", "qty": 10}
    base.update(fields)
    return base
