"""The matching worker: the single writer of each book (python manage.py run_matching).

It turns accepted orders into engine input, the engine's events into database rows (one
transaction per batch), and publishes execution reports and market data once a batch is durable.
"""
