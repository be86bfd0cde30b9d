"""Services that `manage.py serve` runs inside Daphne's event loop, beside the web app.

Each entry is an `async def run(stop: asyncio.Event)`; the other parts of the platform (price
feed, market simulator) add theirs here. In the embedded default the channel layer is in
memory, so everything that talks over it must share this one process.
"""

from __future__ import annotations

import os

from django.conf import settings


def background_services() -> list[tuple[str, str]]:
    """(name, dotted path) of the services to start, honouring SIMULATE=0 and --no-worker."""
    services = [("matching worker", "trading_app.matching_worker.service.run_embedded_worker")]
    services += list(getattr(settings, "EXTRA_BACKGROUND_SERVICES", []))
    if os.environ.get("SIMULATE", "1") != "0":
        services += list(getattr(settings, "SIMULATION_SERVICES", []))
    return services
