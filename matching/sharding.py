"""Which matching worker owns which instrument: a stable hash, the same in every process."""

import zlib


def shard_of(symbol: str, shards: int) -> int:
    """crc32, not hash(): Python's str hash is salted per process and would split books."""
    if shards <= 1:
        return 0
    return zlib.crc32(symbol.encode()) % shards


def shard_channel(shard: int) -> str:
    return f"matching.shard.{shard}"
