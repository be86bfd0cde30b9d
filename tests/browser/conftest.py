"""The browser tests' live server (`manage.py serve` as `make run` runs it), shared by modules."""

from tests.browser.test_monitor import monitor_server  # noqa: F401 (a fixture)
