"""Hands work to the matching worker over the channel layer.

The database is the record: an order is committed as "accepted" before anyone is told, so a
message lost here (worker down, queue full) only delays the order until the worker's next scan.
"""

import logging

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings

from matching.sharding import shard_channel, shard_of

log = logging.getLogger(__name__)


def worker_channel(symbol: str) -> str:
    return shard_channel(shard_of(symbol, settings.MATCHING_SHARDS))


def notify_worker(symbol: str, message: dict) -> bool:
    """Send without blocking the caller on a dead worker; False when the message was dropped."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.send)(worker_channel(symbol), message)
    except ChannelFull:
        log.warning("matching worker inbox full; order waits for the worker's scan")
        return False
    except Exception:  # the record is safe in the database; the scan will find it
        log.exception("could not notify the matching worker")
        return False
    return True
