"""Turn a stream of byte chunks (an S3 body) into text lines, holding one chunk at a time.

Why not botocore's StreamingBody.iter_lines(): it runs a Python generator step and two
splitlines() calls per line (slower than the analysis itself), and splitlines() also breaks on
\\x0b, \\x1c, \\u2028 and friends, which are not line ends in CSV. Here each chunk is decoded and
split on "\\n" only, and the lines are handed over with itertools.chain, so the per-line cost is
C code. A trailing "\\r" (CRLF files) is left for the csv module, which treats it as the line end.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from itertools import chain

CHUNK_SIZE = 1 << 20  # 1 MiB: ~10,000 rows per chunk; memory stays a few MiB whatever the file


def iter_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Yield the lines (without "\\n") of UTF-8 text split arbitrarily into byte chunks.

    A UTF-8 byte order mark is dropped; undecodable bytes become U+FFFD, which makes the row
    fail validation (reported as malformed) instead of failing the whole file.
    """
    return chain.from_iterable(_line_batches(chunks))


def _line_batches(chunks: Iterable[bytes]) -> Iterator[list[str]]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    tail = ""
    for chunk in chunks:
        text = decoder.decode(chunk)
        if not text:
            continue
        lines = text.split("\n")
        lines[0] = tail + lines[0]
        tail = lines.pop()
        yield lines
    tail += decoder.decode(b"", final=True)
    if tail:
        yield [tail]
