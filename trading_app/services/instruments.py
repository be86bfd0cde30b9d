from decimal import Decimal

from django.db import transaction

from trading_app.models import Instrument

# The brief's demo universe with the 001 instrument config fields. Reference prices seed the
# simulated feed and value positions before the first trade.
DEMO_INSTRUMENTS = [
    ("AAPL", "Apple Inc.", "190.00"),
    ("MSFT", "Microsoft Corporation", "420.00"),
    ("GOOG", "Alphabet Inc. Class C", "170.00"),
    ("TSLA", "Tesla, Inc.", "250.00"),
    ("AMZN", "Amazon.com, Inc.", "185.00"),
    ("SPY", "SPDR S&P 500 ETF Trust", "560.00"),
]


@transaction.atomic
def load_demo_instruments() -> int:
    """Create the demo instruments that are missing; return how many were created."""
    created = 0
    for symbol, name, price in DEMO_INSTRUMENTS:
        _, was_created = Instrument.objects.get_or_create(
            symbol=symbol,
            defaults={
                "name": name,
                "tick_size": Decimal("0.01"),
                "lot_size": 1,
                "max_position": 10_000,
                "margin_requirement": Decimal("0.25"),
                "reference_price": Decimal(price),
            },
        )
        created += was_created
    return created
