from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand

from matching.sharding import shard_channel


class Command(BaseCommand):
    help = "End the trading session now: the matching worker expires every live day order."

    def handle(self, *args, **opts):
        layer = get_channel_layer()
        for shard in range(settings.MATCHING_SHARDS):
            async_to_sync(layer.send)(shard_channel(shard), {"type": "session.end"})
        self.stdout.write(f"session end sent to {settings.MATCHING_SHARDS} shard(s)")
